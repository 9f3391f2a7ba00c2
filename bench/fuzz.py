"""Schemathesis against the live service: does every answer match the OpenAPI document?

    .venv/bin/python bench/fuzz.py sqlite --cases 10000          # or: postgresql
    .venv/bin/python bench/fuzz.py postgresql --cases 1000 --seed 7

The service runs in uvicorn on loopback (a subprocess, real HTTP) over a scratch database
(SQLite in a temporary directory, or a new PostgreSQL database dropped afterwards). Schemathesis
reads /openapi.json and sends generated requests, valid and invalid, to every operation as
admin, studio and holder, with these checks:

- not_a_server_error: no 5xx;
- status_code_conformance: the status is one the operation documents;
- content_type_conformance: the media type is one documented for that status;
- response_schema_conformance: the body matches the documented schema.

`--cases` is the target over the three roles, split evenly across the operations; operations
with few possible inputs (no parameters) run out of distinct cases sooner, so the count run is
somewhat lower (10,000 asked gave 8,655). The last line of stdout is one JSON object: cases run,
failures, seconds per role and in all. tests/
test_schemathesis.py runs `fuzz()` with about 1,000 cases per backend in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import admin_key, database, free_port, serve, service_env  # noqa: E402
from consent_service import migrations  # noqa: E402

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@dataclass
class RoleRun:
    role: str
    cases: int
    failures: list[str]
    seconds: float
    exit_code: int


@dataclass
class FuzzResult:
    runs: list[RoleRun] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(r.cases for r in self.runs)

    @property
    def failures(self) -> list[str]:
        return [f"{r.role}: {f}" for r in self.runs for f in r.failures]

    def summary(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "failures": len(self.failures),
            "seconds": round(sum(r.seconds for r in self.runs), 1),
            "by_role": {
                r.role: {"cases": r.cases, "failures": len(r.failures), "seconds": r.seconds}
                for r in self.runs
            },
        }


def principals(base: str, admin_key: str) -> dict[str, dict[str, str]]:
    """Headers for an admin, a studio and a holder, made through the API."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        org = http.post("/v1/organizations", json={"name": "Fuzz", "kind": "studio"}, headers=admin)
        org.raise_for_status()
        key = http.post(
            f"/v1/organizations/{org.json()['id']}/api-keys", json={"name": "fuzz"}, headers=admin
        )
        key.raise_for_status()
        email = f"fuzz-{secrets.token_hex(4)}@example.org"
        password = "a long fuzzing passphrase"
        holder = http.post(
            "/v1/holders",
            json={
                "legal_name": "Fuzz Holder",
                "email": email,
                "password": password,
                "date_of_birth": "1985-01-01",
                "jurisdiction": "GB",
            },
        )
        holder.raise_for_status()
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
        )
        token.raise_for_status()
    return {
        "admin": admin,
        "studio": {"Authorization": f"Bearer {key.json()['key']}"},
        "holder": {"Authorization": f"Bearer {token.json()['access_token']}"},
    }


def _operations(base: str) -> int:
    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    return sum(len(item) for item in doc["paths"].values())


def _read_report(path: Path) -> tuple[int, list[str]]:
    """(cases run, failure descriptions) from schemathesis's NDJSON event stream."""
    cases = 0
    failures: list[str] = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        for name, body in event.items():
            if name == "NonFatalError":
                failures.append(f"{body.get('label', '?')} error: {body.get('value', {})}"[:500])
            if name == "ScenarioFinished":
                recorder = body.get("recorder", {})
                cases += len(recorder.get("cases", {}))
                label = recorder.get("label", "?")
                for check_list in recorder.get("checks", {}).values():
                    for check in check_list:
                        if str(check.get("status")).lower() == "failure":
                            info = json.dumps(check.get("failure_info") or {})[:600]
                            failures.append(f"{label} {check.get('name')}: {info}")
    return cases, sorted(set(failures))


def fuzz(
    base: str,
    headers_by_role: dict[str, dict[str, str]],
    *,
    cases: int,
    seed: int | None = None,
    workers: int = 1,
    report_dir: Path | None = None,
) -> FuzzResult:
    """Run schemathesis against `base` once per role, about `cases` cases in all."""
    operations = _operations(base)
    per_operation = max(1, round(cases / (operations * len(headers_by_role))))
    result = FuzzResult()
    with tempfile.TemporaryDirectory(prefix="fuzz-report-") as tmp:
        out = report_dir or Path(tmp)
        for role, headers in headers_by_role.items():
            events = out / f"{role}.ndjson"
            command = [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base}/openapi.json",
                "--checks",
                ",".join(CHECKS),
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                str(per_operation),
                "--workers",
                str(workers),
                "--no-shrink",
                "--suppress-health-check",
                "all",
                "--request-timeout",
                "30",
                "--report",
                "ndjson",
                "--report-ndjson-path",
                str(events),
                "--warnings",
                "off",
            ]
            if seed is not None:
                command += ["--seed", str(seed)]
            for name, value in headers.items():
                command += ["--header", f"{name}: {value}"]
            started = time.monotonic()
            # Run from the scratch directory: schemathesis keeps its cache (.schemathesis/) in
            # the working directory.
            proc = subprocess.run(
                command,
                cwd=tmp,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            seconds = round(time.monotonic() - started, 1)
            run_cases, failures = _read_report(events) if events.exists() else (0, [])
            if proc.returncode != 0 and not failures:
                failures = [f"schemathesis exited {proc.returncode}: {proc.stdout[-2000:]}"]
            result.runs.append(RoleRun(role, run_cases, failures, seconds, proc.returncode))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=1000, help="total over the three roles")
    parser.add_argument("--seed", type=int, default=None)
    # Python 3.11's ast.parse is not thread-safe (hypothesis describes strategies with it), so
    # one worker per run by default.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--report-dir", type=Path, default=None, help="keep the NDJSON events")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CONSENT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create a scratch database on",
    )
    args = parser.parse_args()
    if args.report_dir:
        args.report_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as tmp:
        data_dir = Path(tmp)
        with database(args.backend, data_dir, args.database_url) as url:
            migrations.upgrade(url)
            port = free_port()
            env = service_env(data_dir, url, port)
            key = admin_key(url, "fuzz")
            with serve("consent_service.main:app_factory", env, port) as base:
                result = fuzz(
                    base,
                    principals(base, key),
                    cases=args.cases,
                    seed=args.seed,
                    workers=args.workers,
                    report_dir=args.report_dir,
                )
    for failure in result.failures:
        print(failure)
    print(json.dumps({"backend": args.backend, **result.summary()}))
    sys.exit(1 if result.failures else 0)


if __name__ == "__main__":
    main()
