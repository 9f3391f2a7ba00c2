"""`consent-service verify` starts without the server: no FastAPI, no SQLModel (cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_ONLY = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "uvicorn")

# Runs `consent-service verify --help` and `consent-service verify <junk> --jwks ...` in one
# fresh interpreter, then lists the server-only packages that got imported.
SCRIPT = """
import json, sys
from consent_service.cli import app
codes = []
for argv in (
    ["verify", "--help"],
    ["verify", "not-a-token", "--any-use", "--jwks", "x", "--status-list", "y"],
):
    try:
        app(argv, prog_name="consent-service")
    except SystemExit as exc:
        codes.append(exc.code)
server = {server!r}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(server))
print(json.dumps({{"codes": codes, "loaded": loaded}}))
"""


def test_the_offline_verify_command_imports_nothing_of_the_server() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(server=SERVER_ONLY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # --help exits 0; the missing key set file is "cannot check" (2), after the real checks ran.
    assert answer["codes"] == [0, 2], result.stdout
    assert answer["loaded"] == [], answer


def test_importing_the_cli_module_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, consent_service.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER_ONLY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_installed_entry_point_runs_verify_without_typer_or_the_server() -> None:
    # console.py is the `consent-service` script: `verify` must not need the server extra.
    code = (
        "import json, sys\n"
        "from consent_service import console\n"
        "try:\n"
        "    console.main(['verify', 'not-a-token', '--any-use', '--jwks', 'x',"
        " '--status-list', 'y'])\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        f"server = set({SERVER_ONLY!r}) | {{'typer', 'click', 'pydantic'}}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & server)\n"
        "print(json.dumps({'status': status, 'loaded': loaded}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"status": 2, "loaded": []}, answer
    # With the server installed, every other command goes on to the typer app.
    helped = subprocess.run(
        [sys.executable, "-m", "consent_service.console", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0 and "serve" in helped.stdout and "verify" in helped.stdout
