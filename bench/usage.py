"""Usage recording throughput: batches of usages over HTTP, beside single appends, in one run.

    .venv/bin/python bench/usage.py postgresql [--database-url URL]   # or: sqlite
    .venv/bin/python bench/usage.py postgresql --batch-size 1000 --batches 30 --concurrency 2

1. Serves the app with uvicorn (one worker, in a subprocess) on a fresh database and makes a
   studio, a holder, a consent and a licence through the API.
2. Batched: `--batches` requests of `--batch-size` usages each to
   `POST /v1/licences/{id}/usages`, from `--concurrency` keep-alive clients; each request is
   one transaction (check, one audit event per usage, rows, signed receipts). Request bodies
   are encoded before the clock starts; responses are counted, not parsed.
3. Single: `--singles` requests of one usage each, the same way (the per-request floor).
4. The audit log's own append rate on the same database, in this process: `audit.record`
   with one event per transaction (the single-event append), and `audit.record_many` with
   `--batch-size` events per transaction (the batch append the usages use).

The last line of stdout is one JSON object: usages_per_s, batch_size, single_usages_per_s,
single_event_appends_per_s, batch_event_appends_per_s and the ratios between them. The machine
may be shared with other work: the ratios, measured in one run, are the point; the absolute
figures move with the load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import (  # noqa: E402
    SERVER_PIDS,
    admin_key,
    cpu_seconds,
    database,
    free_port,
    serve,
    service_env,
)
from consent_service import migrations  # noqa: E402

TARGET_USAGES_PER_S = 5_000
SCOPE = {
    "attributes": ["face"],
    "purposes": ["film_tv"],
    "territories": ["GB"],
    "media": ["streaming"],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(base: str, admin_key: str) -> tuple[dict[str, str], str]:
    """A studio, a holder, an active consent and one licence; (studio headers, licence id)."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        org = http.post(
            "/v1/organizations", json={"name": "Bench", "kind": "studio"}, headers=admin
        )
        key = http.post(
            f"/v1/organizations/{org.raise_for_status().json()['id']}/api-keys",
            json={"name": "bench"},
            headers=admin,
        ).json()["key"]
        studio = {"Authorization": f"Bearer {key}"}
        email, password = f"bench-{secrets.token_hex(4)}@example.org", "a long passphrase!"
        holder = http.post(
            "/v1/holders",
            json={
                "legal_name": "Bench Holder",
                "email": email,
                "password": password,
                "date_of_birth": "1985-01-01",
                "jurisdiction": "GB",
            },
        ).raise_for_status()
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
        )
        holder_headers = {
            "Authorization": f"Bearer {token.raise_for_status().json()['access_token']}"
        }
        # Sign-up answers 202 without the id: the holder asks who they are.
        holder = http.get("/v1/holders/me", headers=holder_headers).raise_for_status()
        now = datetime.now(UTC)
        terms = {
            **{k: v for k, v in SCOPE.items()},
            "intended_use_description": (
                "Digital replica of the performer's face for re-shoots of three night-time "
                "exterior scenes in the feature film Night Train, reviewed before release."
            ),
            "project": "Night Train",
            "replica_type": "independently_created",
            "replaces_in_person_work": False,
            "representation": {"kind": "none"},
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=300)).isoformat(),
        }
        request = http.post(
            "/v1/consent-requests",
            json={"holder_id": holder.json()["id"], "terms": terms},
            headers=studio,
        ).raise_for_status()
        accepted = http.post(
            f"/v1/consent-requests/{request.json()['id']}/accept",
            json={
                "notice_sha256": request.json()["notice"]["sha256"],
                "signature": {"signed_name": "Bench Holder", "method": "typed_name"},
            },
            headers=holder_headers,
        ).raise_for_status()
        licence = http.post(
            "/v1/licences",
            json={"consent_id": accepted.json()["consent"]["id"], "scope": SCOPE},
            headers=studio,
        ).raise_for_status()
        return studio, licence.json()["id"]


def usage_body(count: int) -> bytes:
    """A request body of `count` distinct usages, JSON-encoded."""
    usages = [
        {
            "output_sha256": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            "media_type": "image/png",
            "width": 1920,
            "height": 1080,
            "use": {
                "attribute": "face",
                "purpose": "film_tv",
                "territory": "GB",
                "medium": "streaming",
            },
            "tool": {"name": "renderfarm", "version": "4.2.0"},
        }
        for _ in range(count)
    ]
    return json.dumps({"usages": usages}, separators=(",", ":")).encode()


def post_all(
    base: str, url: str, headers: dict[str, str], bodies: list[bytes], clients: int
) -> float:
    """POST every body (split over `clients` keep-alive clients); the seconds it took."""
    errors: list[str] = []
    shares = [bodies[i::clients] for i in range(clients)]
    start_line = threading.Barrier(clients + 1)

    def run(share: list[bytes]) -> None:
        with httpx.Client(
            base_url=base, timeout=600, headers={**headers, "Content-Type": "application/json"}
        ) as http:
            start_line.wait()
            for body in share:
                r = http.post(url, content=body)
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    start_line.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return elapsed


def audit_append_rates(
    url: str, batch_size: int, singles: int, batches: int
) -> tuple[float, float]:
    """Events/s of `audit.record` (one per transaction) and `audit.record_many` (one batch per
    transaction), in this process, on the database the server uses."""
    from sqlmodel import Session

    from consent_service import audit
    from consent_service.audit import service as audit_service
    from consent_service.db import make_engine

    def event(i: int) -> dict[str, Any]:
        return {
            "actor_id": "key_bench",
            "action": audit.Action.usage_recorded,
            "subjects": {
                "holder_id": "hld_bench",
                "licence_id": "lic_bench",
                "usage_id": f"usg_{i}",
            },
            "payload": {"output_sha256": f"{i:064x}", "media_type": "image/png"},
        }

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        for i in range(singles):
            with Session(engine) as session:
                audit.record(session, **event(i))
                session.commit()
        single_rate = singles / (time.perf_counter() - started)
        started = time.perf_counter()
        for b in range(batches):
            with Session(engine) as session:
                audit_service.record_many(
                    session, [event(b * batch_size + i) for i in range(batch_size)]
                )
                session.commit()
        batch_rate = batches * batch_size / (time.perf_counter() - started)
    finally:
        engine.dispose()
    return single_rate, batch_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backend", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CONSENT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-usage-") as tmp:
        data_dir = Path(tmp)
        with database(args.backend, data_dir, args.database_url) as url:
            migrations.upgrade(url)
            port = free_port()
            env = service_env(
                data_dir,
                url,
                port,
                CONSENT_LOG_LEVEL=args.log_level,
                # The bench's holder consents without reading mail.
                CONSENT_REQUIRE_EMAIL_CONFIRMATION="false",
            )
            key = admin_key(url, "bench")
            with serve("consent_service.main:app_factory", env, port) as base:
                studio, licence_id = seed(base, key)
                path = f"/v1/licences/{licence_id}/usages"
                log(
                    f"warming up, then {args.batches} batches of {args.batch_size} "
                    f"on {args.backend} …"
                )
                post_all(base, path, studio, [usage_body(args.batch_size) for _ in range(2)], 1)
                bodies = [usage_body(args.batch_size) for _ in range(args.batches)]
                server_pid = SERVER_PIDS[base]
                backends = database_backends(url) if args.backend == "postgresql" else []
                cpu_before = cpu_seconds(server_pid)
                db_before = sum(cpu_seconds(pid) for pid in backends)
                client_before = time.process_time()
                batch_s = post_all(base, path, studio, bodies, args.concurrency)
                server_cpu = cpu_seconds(server_pid) - cpu_before
                db_cpu = sum(cpu_seconds(pid) for pid in backends) - db_before
                client_cpu = time.process_time() - client_before
                usages = args.batches * args.batch_size
                usages_per_s = usages / batch_s
                log(f"  {usages_per_s:,.0f} usages/s ({batch_s:.2f}s for {usages})")
                singles = [usage_body(1) for _ in range(args.singles)]
                single_s = post_all(base, path, studio, singles, args.concurrency)
                single_usages_per_s = args.singles / single_s
                log(f"  {single_usages_per_s:,.0f} single-usage requests/s")
            single_appends, batch_appends = audit_append_rates(
                url, args.batch_size, args.singles, max(3, args.batches // 5)
            )
            log(f"  audit appends: {single_appends:,.0f}/s single, {batch_appends:,.0f}/s batched")

    result = {
        "backend": args.backend,
        "batch_size": args.batch_size,
        "usages_per_s": round(usages_per_s),
        "single_usages_per_s": round(single_usages_per_s),
        "single_event_appends_per_s": round(single_appends),
        "batch_event_appends_per_s": round(batch_appends),
        "batched_vs_single_usage": round(usages_per_s / single_usages_per_s, 1),
        "usages_vs_single_event_appends": round(usages_per_s / single_appends, 1),
        # CPU time per usage of the app server, of the PostgreSQL backends serving its
        # connections (0 on SQLite, which runs inside the server) and of this client; on an
        # otherwise idle machine with `cpus` cores, cpus / total bounds the rate.
        "server_cpu_ms_per_usage": round(1000 * server_cpu / usages, 3),
        "db_cpu_ms_per_usage": round(1000 * db_cpu / usages, 3),
        "client_cpu_ms_per_usage": round(1000 * client_cpu / usages, 3),
        "cpu_bound_usages_per_s": round(
            min(
                1 / (server_cpu / usages),
                (os.cpu_count() or 1) / ((server_cpu + db_cpu + client_cpu) / usages),
            )
        ),
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "meets_target": usages_per_s >= TARGET_USAGES_PER_S,
    }
    print(json.dumps(result), flush=True)


def database_backends(url: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to the bench database (the server's
    pool, warm after the warm-up batches)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            own = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            pids = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :n AND pid <> :own"),
                {"n": name, "own": own},
            ).scalars()
            return [int(pid) for pid in pids]
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
