"""The README's five-minute walkthrough, run as written against a real server.

The shell blocks of the walkthrough are executed with bash and curl against `consent-service
serve` on a loopback port, with its own data directory, so the front door of the project can
never silently rot. Runs on the SQLite backend only (the walkthrough is the embedded default).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite" or shutil.which("curl") is None or shutil.which("bash") is None,
    reason="walkthrough runs on the embedded default, with bash and curl",
)


def _walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 5, "the walkthrough lost its shell blocks"
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_walkthrough_runs_end_to_end(tmp_path: Path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update(
        {
            "CONSENT_DATA_DIR": str(tmp_path / "var"),
            "CONSENT_ISSUER": base,
            # Real argon2id, at a cost that keeps the suite fast.
            "CONSENT_ARGON2_TIME_COST": "1",
            "CONSENT_ARGON2_MEMORY_KIB": "1024",
        }
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "consent_service.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

        script = _walkthrough_script().replace("B=http://127.0.0.1:8000", f"B={base}")
        # The README calls `.venv/bin/...` from the project directory: point that at this Python.
        bin_dir = Path(sys.executable).parent
        script = script.replace(".venv/bin/", f"{bin_dir}/")
        work = tmp_path / "work"
        work.mkdir()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work,
            env={**env, "PATH": f"{bin_dir}:{env.get('PATH', '')}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    lines = out.splitlines()
    # A verifier approved the identity document and the live capture, in that order.
    # (curl prints the JSON of step 1 without a newline: count line ends.)
    assert len(re.findall(r"approved$", out, flags=re.M)) == 2, out
    assert "liveness_verified" in lines, out
    assert "VALID" in lines, out
    assert "offline: licence valid, render may proceed" in out
    assert "withdrawn" in lines and "REVOKED" in lines, out
    assert "offline: refused (exit 1)" in out, out
    assert "receipt verified: withdrawn" in out, out
    assert "OK:" in out and "complete export" in out, out
    assert "image/jpeg" in lines, out
    assert '"code":"not_found"' in out, "the studio must not read the holder's record"
