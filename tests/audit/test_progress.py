"""Progress on a terminal, silence elsewhere: the commands run in a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Org

ROOT = Path(__file__).parents[2]
RUN_CLI = "from consent_service.cli import app; app()"


def run(args: list[str], *, tty: bool, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI; standard error on a pseudo-terminal when `tty` (else a pipe)."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    environ.pop("NO_COLOR", None)
    if not tty:
        done = subprocess.run(
            [sys.executable, "-c", RUN_CLI, *args],
            capture_output=True,
            env=environ,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout.decode(), done.stderr.decode()
    master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=environ,
    ) as proc:
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = proc.wait(timeout=120)
    os.close(master)
    return code, out, b"".join(chunks).decode(errors="replace")


def test_verify_shows_progress_on_a_terminal_and_nothing_in_a_pipe(
    make_events: Callable[[int], None], export_to: Callable[..., Path], jwks_file: Path
) -> None:
    make_events(30)
    path = export_to()
    args = ["audit", "verify", str(path), "--jwks", str(jwks_file)]
    code, out, err = run(args, tty=True)
    assert code == 0 and out.startswith("OK: ")
    assert "verifying" in err and "events/s" in err and "left" in err
    assert "events" in err.split("verifying", 1)[1]
    code, out, err = run(args, tty=False)
    assert (code, err) == (0, "") and out.startswith("OK: ")


def test_export_and_monitor_show_progress_on_a_terminal(
    live_server: str,
    auditor: Org,
    tmp_path: Path,
    make_events: Callable[[int], None],
) -> None:
    make_events(20)
    env = {"CONSENT_AUDITOR_KEY": auditor.key}
    target = tmp_path / "all.jsonl"
    code, out, err = run(
        ["audit", "export", "--url", live_server, "-o", str(target)], tty=True, env=env
    )
    assert code == 0, err
    assert "exporting" in err and "events/s" in err
    assert out.startswith("wrote ")
    import httpx

    log_key = httpx.get(f"{live_server}/v1/audit/checkpoint/verifier-key").text.strip()
    state = tmp_path / "state"
    state.mkdir()
    args = ["audit", "monitor", "--state", str(state), "--url", live_server, "--log-key", log_key]
    code, out, err = run(args, tty=True, env=env)
    assert code == 0 and out.startswith("OK "), err
    assert "monitoring" in err and "events" in err
    code, out, err = run(args, tty=False, env=env)
    assert (code, err) == (0, "")
