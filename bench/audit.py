"""Audit log benchmark: fill the log, then measure appends, export and offline verification.

    .venv/bin/python bench/audit.py --backend sqlite [--events 1000000]
    .venv/bin/python bench/audit.py --backend postgresql \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

1. Fills a fresh database with `--events` events through `audit.record_many` (the service
   layer's bulk append), one transaction per `--fill-batch` events (not what is measured).
2. Appends `--append-events` more through `audit.record`, each in its own transaction (the
   append rate).
3. Serves the app with uvicorn in a subprocess, asks for a checkpoint once (this fills the
   subtree cache; reported as `first_checkpoint_s`), then streams the complete JSON Lines export
   to a file and reads the server's peak resident memory (VmHWM from /proc).
4. Verifies the export offline with the same code as `consent-service audit verify`.

The last line of output is JSON: events, export_events_per_s, export_peak_mb,
verify_events_per_s, append_events_per_s (and a few more). Never run as part of the tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import free_port  # noqa: E402
from consent_service import audit, migrations  # noqa: E402
from consent_service.accounts import service as accounts
from consent_service.audit import offline
from consent_service.audit import service as audit_service
from consent_service.db import make_engine

TARGETS = {
    "export_events_per_s": 50_000,
    "export_peak_mb": 150,
    "verify_events_per_s": 50_000,
    "append_events_per_s": 1_000,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fresh_database(backend: str, base_url: str | None, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{(workdir / 'bench.db').as_posix()}", None
    if not base_url:
        raise SystemExit("--database-url is required for postgresql")
    url = make_url(base_url)
    name = f"consent_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(base_url: str, name: str) -> None:
    admin = sa.create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # The migrations created the key store's database beside it (crypto/keystore.py).
        for db in (name, f"{name}_keystore"):
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": db},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}"'))
    admin.dispose()


def event_args(i: int) -> dict:
    holder = f"hld_{i % 5000:026d}"
    return {
        "actor_id": f"key_{i % 97:026d}",
        "action": ("consent.granted", "licence.issued", "consent.withdrawn")[i % 3],
        "subjects": {"holder_id": holder, "consent_id": f"cns_{i:026d}"},
        "payload": {"notice_sha256": f"{i:064x}", "scope": ["face", "voice"]},
    }


def fill(engine: sa.Engine, events: int, batch: int) -> float:
    start = time.perf_counter()
    done = 0
    while done < events:
        with Session(engine) as session:
            audit_service.record_many(
                session, [event_args(i) for i in range(done, min(done + batch, events))]
            )
            session.commit()
        done = min(done + batch, events)
        if done % 100_000 < batch:
            log(f"  filled {done} events ({done / (time.perf_counter() - start):,.0f}/s)")
    return time.perf_counter() - start


def measure_appends(engine: sa.Engine, count: int) -> tuple[float, float]:
    """Appends per second, each in its own transaction, and, for scale, the rate of the
    cheapest durable transaction on the same engine (one single-row INSERT and COMMIT)."""
    start = time.perf_counter()
    for i in range(count):
        with Session(engine) as session:
            audit.record(session, **event_args(i))
            session.commit()
    append_rate = count / (time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_probe (x INTEGER)"))
    start = time.perf_counter()
    for i in range(count):
        with Session(engine) as session:
            session.execute(sa.text("INSERT INTO bench_probe (x) VALUES (:i)"), {"i": i})
            session.commit()
    bare_rate = count / (time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_probe"))
    return append_rate, bare_rate


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=os.environ.get("CONSENT_TEST_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--fill-batch", type=int, default=5_000)
    parser.add_argument("--append-events", type=int, default=3_000)
    parser.add_argument(
        "--append-only", action="store_true", help="Measure appends only (use with --events 0)"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    url, pg_name = fresh_database(args.backend, args.database_url, workdir)
    master_key = base64.b64encode(secrets.token_bytes(32)).decode()
    server: subprocess.Popen[bytes] | None = None
    try:
        migrations.upgrade(url)
        engine = make_engine(url)
        log(f"filling {args.events} events on {args.backend} …")
        fill_s = fill(engine, args.events, args.fill_batch)
        log(f"appending {args.append_events} events, one transaction each …")
        append_rate, bare_commit_rate = measure_appends(engine, args.append_events)
        log(f"  {append_rate:,.0f} appends/s; bare one-row commits: {bare_commit_rate:,.0f}/s")
        if args.append_only:
            print(
                json.dumps(
                    {
                        "backend": args.backend,
                        "append_events_per_s": round(append_rate),
                        "bare_commit_per_s": round(bare_commit_rate),
                        "append_vs_bare_commit": round(append_rate / bare_commit_rate, 2),
                    }
                ),
                flush=True,
            )
            return
        with Session(engine) as session:
            _, admin_key = accounts.create_admin_key(session, name="bench")
            session.commit()
        engine.dispose()

        port = free_port()
        env = {
            **os.environ,
            "CONSENT_DATABASE_URL": url,
            "CONSENT_MASTER_KEY": master_key,
            "CONSENT_DATA_DIR": str(workdir / "data"),
            "CONSENT_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "consent_service.main:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
            start = time.perf_counter()
            checkpoint = http.get("/v1/audit/checkpoint").raise_for_status().json()
            first_checkpoint_s = time.perf_counter() - start
            start = time.perf_counter()
            http.get("/v1/audit/checkpoint").raise_for_status()
            checkpoint_s = time.perf_counter() - start
            log(f"checkpoint at {checkpoint['tree_size']} events: {first_checkpoint_s:.2f}s cold")
            export_path = workdir / "export.jsonl"
            start = time.perf_counter()
            lines = 0
            with http.stream("GET", "/v1/audit/export") as response, export_path.open("wb") as f:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    lines += chunk.count(b"\n")
                    f.write(chunk)
            export_s = time.perf_counter() - start
            peak_mb = peak_rss_mb(server.pid)
            jwks_path = workdir / "jwks.json"
            jwks_path.write_text(http.get("/.well-known/jwks.json").text)
        events = lines - 1
        log(f"exported {events} events in {export_s:.1f}s, server peak RSS {peak_mb:.0f} MB")

        start = time.perf_counter()
        report = offline.verify_file(export_path, keys=offline.load_jwks_file(jwks_path))
        verify_s = time.perf_counter() - start
        if not report.ok:
            raise RuntimeError(f"export did not verify: {report.findings[:3]}")
        log(f"verified offline in {verify_s:.1f}s")
        result = {
            "backend": args.backend,
            "events": events,
            "export_events_per_s": round(events / export_s),
            "export_peak_mb": round(peak_mb, 1),
            "verify_events_per_s": round(events / verify_s),
            "append_events_per_s": round(append_rate),
            "bare_commit_per_s": round(bare_commit_rate),
            "append_vs_bare_commit": round(append_rate / bare_commit_rate, 2),
            "first_checkpoint_s": round(first_checkpoint_s, 3),
            "checkpoint_s": round(checkpoint_s, 4),
            "fill_events_per_s": round(args.events / fill_s),
            "export_mb": round(export_path.stat().st_size / 1e6, 1),
        }
        result["meets_targets"] = (
            result["export_events_per_s"] >= TARGETS["export_events_per_s"]
            and result["export_peak_mb"] < TARGETS["export_peak_mb"]
            and result["verify_events_per_s"] >= TARGETS["verify_events_per_s"]
            and result["append_events_per_s"] >= TARGETS["append_events_per_s"]
        )
        print(json.dumps(result), flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if pg_name is not None and args.database_url:
            drop_database(args.database_url, pg_name)
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
