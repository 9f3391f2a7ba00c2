"""Long reliability runs: kill -9 crashes under write load, and issue-versus-withdraw races.

    PYTHONPATH=. .venv/bin/python bench/reliability.py --backend sqlite --crashes 100
    PYTHONPATH=. .venv/bin/python bench/reliability.py --backend postgresql \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        --crashes 100 --races 1000

The same drivers as the CI tests (tests/reliability/harness.py: tests/reliability/
test_crash_loop.py runs 5 crashes per backend, tests/licences/test_concurrency.py 50 races on
PostgreSQL), with the counts given here:

- `--crashes N`: a real `uvicorn` process under write load from `--writers` clients (holders,
  consent requests, licences), killed with SIGKILL N times and restarted; after each restart
  every acknowledged write must read back as answered and the exported audit log must pass
  `consent-service audit verify`.
- `--races N`: N rounds, each a fresh grant that `--issuers` clients issue licences under
  (`--per-issuer` each) while its holder withdraws it; afterwards no licence may verify VALID.

Prints progress to stderr and, last, one JSON line with the figures. SIGTERM or SIGINT ends
the run after the current crash or race, and the figures are those of the completed ones.
Exit 0 only when nothing was lost, the log verified every time and no licence survived a
withdrawal. Never run as part of the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.harness import (
    ServerProcess,
    crash_loop,
    create_admin_key,
    deployment,
    holder_headers,
    make_cast,
    make_grant,
    race_round,
)

STOP = threading.Event()


def _stop(signum: int, _frame: object) -> None:
    log(f"signal {signum}: stopping after the current crash or race")
    STOP.set()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_crashes(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    with deployment(workdir / "crashes", args.backend, args.database_url) as dep:
        report = crash_loop(
            dep,
            workdir / "crashes",
            crashes=args.crashes,
            writers=args.writers,
            writes_before_kill=args.writes_before_kill,
            progress=log,
            rng=random.Random(args.seed),
            should_stop=STOP.is_set,
        )
    return {
        "crashes": report.crashes,
        "acknowledged_writes": report.acknowledged,
        "acknowledged_by_kind": report.by_kind,
        "writes_cut_off": report.failed_writes,
        "lost_writes": len(report.lost),
        "lost_examples": report.lost[:5],
        "audit_events_at_end": report.audit_events,
        "audit_failures": len(report.audit_failures),
        "audit_failure_examples": report.audit_failures[:5],
        "crash_seconds": round(time.monotonic() - started, 1),
        "ok": report.ok,
    }


def run_races(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    issued = refused = valid_after = 0
    problems: list[str] = []
    rounds = 0
    with deployment(workdir / "races", args.backend, args.database_url) as dep:
        admin_key = create_admin_key(dep)
        server = ServerProcess(dep, workdir / "races-server.log")
        server.start()
        try:
            with httpx.Client(base_url=dep.base_url, timeout=120) as http:
                cast = make_cast(http, admin_key)
                holder = holder_headers(http, cast)
                for n in range(1, args.races + 1):
                    if STOP.is_set():
                        break
                    if n % 100 == 0:
                        holder = holder_headers(http, cast)  # access tokens last 15 minutes
                    grant_id = make_grant(http, cast, holder)
                    outcome = race_round(
                        dep.base_url,
                        studio=cast.studio,
                        holder=holder,
                        grant_id=grant_id,
                        issuers=args.issuers,
                        per_issuer=args.per_issuer,
                    )
                    rounds += 1
                    issued += outcome.issued
                    refused += outcome.refused
                    valid_after += outcome.valid_after
                    problems.extend(outcome.problems)
                    if n % 25 == 0 or outcome.problems:
                        log(
                            f"race {n}/{args.races}: {issued} issued, {refused} refused, "
                            f"{valid_after} valid after withdrawal, {len(problems)} problems"
                        )
        finally:
            server.stop()
    return {
        "races": rounds,
        "licences_issued": issued,
        "issuances_refused": refused,
        "valid_after_withdrawal": valid_after,
        "race_problems": len(problems),
        "race_problem_examples": problems[:5],
        "race_seconds": round(time.monotonic() - started, 1),
        "ok": valid_after == 0 and not problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="PostgreSQL server (a fresh database is made)")
    parser.add_argument("--crashes", type=int, default=0, help="kill -9 crashes (0: none)")
    parser.add_argument("--writers", type=int, default=4, help="clients writing during crashes")
    parser.add_argument(
        "--writes-before-kill", type=int, default=30, help="least writes acknowledged per cycle"
    )
    parser.add_argument("--races", type=int, default=0, help="issue-versus-withdraw rounds")
    parser.add_argument("--issuers", type=int, default=12, help="clients issuing in each race")
    parser.add_argument("--per-issuer", type=int, default=2, help="issuances per client")
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.backend == "postgresql" and not args.database_url:
        parser.error("--backend postgresql needs --database-url")
    figures: dict[str, Any] = {"backend": args.backend}
    ok = True
    with tempfile.TemporaryDirectory(prefix="consent-reliability-") as tmp:
        workdir = Path(tmp)
        if args.crashes:
            result = run_crashes(args, workdir)
            ok = ok and result.pop("ok")
            figures.update(result)
        if args.races:
            result = run_races(args, workdir)
            ok = ok and result.pop("ok")
            figures.update(result)
    figures["interrupted"] = STOP.is_set()
    figures["ok"] = ok
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
