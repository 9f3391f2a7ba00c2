"""`pip install consent-service` (no extra) in a fresh venv gives a working offline verifier.

The base package is built into a wheel from a copy of this checkout (`pip wheel --no-deps`,
its build backend resolved by pip from the configured index or local cache), installed for
real into a new `python -m venv`, with its dependencies resolved by pip as a studio's pip would
(cryptography and python-jose, from the configured index or the local cache). Its
`consent-service` script must then verify a licence, JWKS and status list made by the test
server, with no server package importable and no path leading back to this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from fastapi.testclient import TestClient

from tests.conftest import Org
from tests.licences.conftest import Grant

Issue = Callable[..., dict[str, Any]]
ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("fastapi", "sqlmodel", "sqlalchemy", "pydantic", "typer", "uvicorn", "boto3")


def _run(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=600, **kwargs
    )


def _base_install(tmp: Path) -> Path:
    """Build the wheel, make a fresh venv, install the wheel into it; returns its bin dir."""
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "consent_service",
        source / "consent_service",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    wheels = tmp / "wheels"
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        wheels,
        source,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("consent_service-*.whl")
    venv = tmp / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    # The shared pip installs into the new venv (--python): no pip bootstrap in the venv.
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


def test_the_base_install_verifies_offline_with_no_server_package(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    tmp_path: Path,
    make_org: Callable[..., Org],
):
    token = issue(grant)["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    status_uri = claims["status"]["status_list"]["uri"].removeprefix("http://testserver")
    documents = tmp_path / "documents"
    documents.mkdir()
    jwks_file, status_file = documents / "jwks.json", documents / "status.jwt"
    jwks_file.write_text(client.get("/.well-known/jwks.json").text)
    status_file.write_text(client.get(status_uri).text)

    bin_dir = _base_install(tmp_path)
    # Nothing leads back to this checkout or the shared venv: no PYTHONPATH, another cwd.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _run(bin_dir / "consent-service", *args, env=env, cwd=documents)

    probe = _run(
        bin_dir / "python",
        "-c",
        "import importlib.util, json, consent_service;"
        f" print(json.dumps([consent_service.__file__, [m for m in {SERVER_PACKAGES!r}"
        " if importlib.util.find_spec(m)]]))",
        env=env,
        cwd=documents,
    )
    assert probe.returncode == 0, probe.stderr
    location, server_packages = json.loads(probe.stdout)
    assert location.startswith(str(tmp_path / "venv")) and server_packages == []

    helped = run("--help")
    assert helped.returncode == 0 and "verify" in helped.stdout, helped.stdout + helped.stderr
    assert "consent-service[server]" in helped.stdout
    assert run("verify", "--help").returncode == 0

    files = ("--jwks", str(jwks_file), "--status-list", str(status_file))
    use = "attribute=face,purpose=film_tv,territory=GB,medium=streaming"
    checked = run(
        "verify",
        token,
        "--use",
        use,
        "--audience",
        grant.studio.id,
        "--min-assurance",
        "self_asserted",
        *files,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verdict = json.loads(checked.stdout)
    assert (verdict["code"], verdict["licence_id"], verdict["use_checked"]) == (
        "VALID",
        claims["jti"],
        True,
    )
    other = run("verify", token, "--use", use, "--audience", make_org().id, *files)
    assert (other.returncode, json.loads(other.stdout)["code"]) == (1, "AUDIENCE_MISMATCH")
    assert run("verify", token, *files).returncode == 3
    # A withdrawal reaches the render node with the next status list it fetches.
    client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    status_file.write_text(client.get(status_uri).text)
    revoked = run("verify", token, "--any-use", *files)
    assert (revoked.returncode, json.loads(revoked.stdout)["code"]) == (1, "REVOKED")
    # The server's commands say what to install, rather than failing on an import.
    served = run("serve")
    assert served.returncode == 2 and "consent-service[server]" in served.stderr, served.stderr
