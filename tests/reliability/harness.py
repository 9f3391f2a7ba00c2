"""Drivers for the reliability runs: a real server process killed under write load, and the
issue-versus-withdraw race. The CI tests (tests/reliability, tests/licences) run them with
small counts; `bench/reliability.py` runs them with the counts given on its command line.

Everything goes through the public HTTP API of a `uvicorn` process on loopback, as a client
would; the only in-process step is creating the first admin key, as an operator does with
`consent-service accounts create-admin`.
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SCOPE = {
    "attributes": ["face"],
    "purposes": ["film_tv"],
    "territories": ["GB"],
    "media": ["streaming"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


# -- a deployment: database, key store, data directory, settings --------------------------------


@dataclass
class Deployment:
    """One service's state on disk (or on PostgreSQL) and the environment that runs it."""

    backend: str
    data_dir: Path
    database_url: str
    keystore_url: str
    port: int
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def deployment(root: Path, backend: str, postgres_url: str | None = None) -> Iterator[Deployment]:
    """A migrated, empty deployment under `root` (SQLite) or in fresh PostgreSQL databases."""
    from consent_service import migrations
    from consent_service.crypto.keystore import keystore_url_for

    data_dir = root / "data"
    data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    admin: sa.Engine | None = None
    names: list[str] = []
    if backend == "sqlite":
        url = f"sqlite:///{(data_dir / 'consent.db').as_posix()}"
    elif backend == "postgresql":
        if not postgres_url:
            raise ValueError("the postgresql backend needs a server URL")
        base = make_url(postgres_url)
        if base.drivername == "postgresql":
            base = base.set(drivername="postgresql+psycopg")
        name = f"consent_rel_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        names = [name, f"{name}_keystore"]
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    keystore_url = keystore_url_for(url)
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "CONSENT_ENV": "development",
        "CONSENT_DATA_DIR": str(data_dir),
        "CONSENT_DATABASE_URL": url,
        "CONSENT_KEYSTORE_URL": keystore_url,
        "CONSENT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CONSENT_ISSUER": f"http://127.0.0.1:{port}",
        # Real argon2id at a low cost, and no throttles: the load comes from one address.
        "CONSENT_ARGON2_TIME_COST": "1",
        "CONSENT_ARGON2_MEMORY_KIB": "1024",
        "CONSENT_LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
        "CONSENT_REGISTRATIONS_PER_MINUTE": "1000000",
        # The load's holders consent without reading mail (the confirmation has its own tests).
        "CONSENT_REQUIRE_EMAIL_CONFIRMATION": "false",
        "CONSENT_VERIFY_RATE_LIMIT_PER_MINUTE": "1000000",
        "CONSENT_EXPIRY_SWEEP_SECONDS": "0",
        "CONSENT_LOG_LEVEL": "WARNING",
    }
    try:
        migrations.upgrade(url, keystore_url=keystore_url)
        yield Deployment(
            backend=backend,
            data_dir=data_dir,
            database_url=url,
            keystore_url=keystore_url,
            port=port,
            env=env,
        )
    finally:
        if admin is not None:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :n"
                        ),
                        {"n": name},
                    )
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


def create_admin_key(dep: Deployment) -> str:
    """What `consent-service accounts create-admin` does, in this process."""
    from consent_service.accounts import service as accounts
    from consent_service.config import Settings
    from consent_service.wiring import build_services

    settings = Settings(
        data_dir=dep.data_dir,
        database_url=dep.database_url,
        keystore_url=dep.keystore_url,
        master_key=dep.env["CONSENT_MASTER_KEY"],
        issuer=dep.env["CONSENT_ISSUER"],
    )
    services = build_services(settings)
    try:
        with services.session() as session:
            _row, key = accounts.create_admin_key(session, name="reliability run")
            session.commit()
    finally:
        services.close()
    return key


# -- the server process -----------------------------------------------------------------------


class ServerProcess:
    """`uvicorn consent_service.main:app_factory` as a child process of this one."""

    def __init__(self, dep: Deployment, log_path: Path) -> None:
        self.dep = dep
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "consent_service.main:app_factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.dep.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=self.dep.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.dep.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout} s; see {self.log_path}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback runs."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


# -- accounts and grants through the API --------------------------------------------------------


@dataclass
class Cast:
    """The parties a run needs, made through the API."""

    admin: dict[str, str]
    studio: dict[str, str]
    auditor: dict[str, str]
    holder_id: str
    holder_email: str
    holder_password: str


def _org(http: httpx.Client, admin: dict[str, str], kind: str) -> dict[str, str]:
    r = http.post(
        "/v1/organizations",
        json={"name": f"{kind.title()} {secrets.token_hex(3)}", "kind": kind},
        headers=admin,
    )
    r.raise_for_status()
    r = http.post(
        f"/v1/organizations/{r.json()['id']}/api-keys", json={"name": "run"}, headers=admin
    )
    r.raise_for_status()
    return bearer(r.json()["key"])


def _holder_body() -> dict[str, Any]:
    return {
        "legal_name": f"Rel Person {secrets.token_hex(4)}",
        "email": f"rel-{secrets.token_hex(6)}@example.org",
        "password": "a long enough passphrase",
        "date_of_birth": "1990-05-17",
        "jurisdiction": "GB",
    }


def make_cast(http: httpx.Client, admin_key: str) -> Cast:
    admin = bearer(admin_key)
    body = _holder_body()
    r = http.post("/v1/holders", json=body, headers=admin)
    r.raise_for_status()
    return Cast(
        admin=admin,
        studio=_org(http, admin, "studio"),
        auditor=_org(http, admin, "auditor"),
        holder_id=r.json()["id"],
        holder_email=body["email"],
        holder_password=body["password"],
    )


def holder_headers(http: httpx.Client, cast: Cast) -> dict[str, str]:
    r = http.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": cast.holder_email,
            "password": cast.holder_password,
        },
    )
    r.raise_for_status()
    return bearer(r.json()["access_token"])


def _terms() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "attributes": ["face", "voice"],
        "purposes": ["film_tv"],
        "intended_use_description": "Digital replica of the performer's face for re-shoots of "
        "two scenes in the feature film, reviewed by the performer before release.",
        "project": "Reliability",
        "territories": ["GB"],
        "media": ["streaming"],
        "replica_type": "independently_created",
        "replaces_in_person_work": False,
        "representation": {"kind": "none"},
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
    }


def make_grant(http: httpx.Client, cast: Cast, holder: dict[str, str]) -> str:
    """A consent request from the studio, accepted by the holder: the grant's id."""
    r = http.post(
        "/v1/consent-requests",
        json={"holder_id": cast.holder_id, "terms": _terms()},
        headers=cast.studio,
    )
    r.raise_for_status()
    request = r.json()
    r = http.post(
        f"/v1/consent-requests/{request['id']}/accept",
        json={
            "notice_sha256": request["notice"]["sha256"],
            "signature": {"signed_name": "Rel Person", "method": "typed_name"},
        },
        headers=holder,
    )
    r.raise_for_status()
    return str(r.json()["consent"]["id"])


# -- the crash loop -----------------------------------------------------------------------------


@dataclass
class Ack:
    """A write the server answered 201 to, and what proves it later."""

    kind: str  # "holder", "request", "licence"
    id: str
    proof: str  # the holder's legal name; the licence token; "" for a request


@dataclass
class CrashReport:
    crashes: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    failed_writes: int = 0  # connection errors and 5xx: never acknowledged, may or may not exist
    audit_events: int = 0
    audit_failures: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.audit_failures


class WriteLoad:
    """Writer threads posting holders, consent requests and licences until stopped."""

    def __init__(self, base_url: str, cast: Cast, grant_id: str, writers: int) -> None:
        self.base_url = base_url
        self.cast = cast
        self.grant_id = grant_id
        self.writers = writers
        self.acked: list[Ack] = []
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _write_one(self, http: httpx.Client, turn: int) -> Ack | None:
        kind = ("holder", "request", "licence")[turn % 3]
        if kind == "holder":
            body = _holder_body()
            r = http.post("/v1/holders", json=body, headers=self.cast.admin)
            return (
                Ack("holder", r.json()["id"], body["legal_name"]) if r.status_code == 201 else None
            )
        if kind == "request":
            r = http.post(
                "/v1/consent-requests",
                json={"holder_id": self.cast.holder_id, "terms": _terms()},
                headers=self.cast.studio,
            )
            return Ack("request", r.json()["id"], "") if r.status_code == 201 else None
        r = http.post(
            "/v1/licences",
            json={"consent_id": self.grant_id, "scope": SCOPE},
            headers=self.cast.studio,
        )
        return Ack("licence", r.json()["id"], r.json()["token"]) if r.status_code == 201 else None

    def _run(self, seed: int) -> None:
        turn = seed
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            while not self._stop.is_set():
                turn += 1
                try:
                    ack = self._write_one(http, turn)
                except (httpx.HTTPError, ValueError):
                    ack = None
                with self._lock:
                    if ack is None:
                        self.failed += 1
                    else:
                        self.acked.append(ack)
                if ack is None:
                    time.sleep(0.02)

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.writers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.acked)


def lost_writes(http: httpx.Client, cast: Cast, acks: list[Ack]) -> list[str]:
    """The acknowledged writes the restarted server does not show as they were answered."""
    lost: list[str] = []
    for ack in acks:
        if ack.kind == "holder":
            r = http.get(f"/v1/holders/{ack.id}", headers=cast.admin)
            # The record decrypts: its key reached the key store before the data committed.
            if r.status_code != 200 or r.json().get("legal_name") != ack.proof:
                lost.append(f"holder {ack.id}: {r.status_code}")
        elif ack.kind == "request":
            r = http.get(f"/v1/consent-requests/{ack.id}", headers=cast.studio)
            if r.status_code != 200:
                lost.append(f"request {ack.id}: {r.status_code}")
        else:
            r = http.post("/v1/licences/verify", json={"token": ack.proof})
            if r.status_code != 200 or r.json().get("code") != "VALID":
                lost.append(f"licence {ack.id}: {r.status_code} {r.text[:80]}")
    return lost


def verify_audit_log(
    http: httpx.Client, cast: Cast, workdir: Path, acks: list[Ack]
) -> tuple[int, list[str]]:
    """Export the log as the auditor and run `consent-service audit verify` on it.

    Returns the number of events and the problems: the verifier's findings, and any
    acknowledged write whose audit event is missing (it commits with the write).
    """
    export = workdir / "audit-export.jsonl"
    jwks = workdir / "jwks.json"
    with http.stream("GET", "/v1/audit/export", headers=cast.auditor) as r:
        r.raise_for_status()
        with export.open("wb") as out:
            for chunk in r.iter_bytes():
                out.write(chunk)
    jwks.write_bytes(http.get("/.well-known/jwks.json").content)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from consent_service.cli import main; main()",
            "audit",
            "verify",
            str(export),
            "--jwks",
            str(jwks),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    problems: list[str] = []
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return 0, [f"audit verify exit {result.returncode}: {result.stderr[-300:]}"]
    if result.returncode != 0 or not report["ok"]:
        problems.append(f"audit verify exit {result.returncode}: {report['findings'][:3]}")
    subjects: set[str] = set()
    with export.open() as lines:
        for line in lines:
            event = json.loads(line).get("event")
            if isinstance(event, dict):
                subjects.update(str(v) for v in (event.get("subjects") or {}).values())
    problems.extend(f"no audit event for {a.kind} {a.id}" for a in acks if a.id not in subjects)
    return int(report["events"]), problems


def crash_loop(
    dep: Deployment,
    workdir: Path,
    *,
    crashes: int,
    writers: int = 4,
    writes_before_kill: int = 30,
    progress: Callable[[str], None] | None = None,
    rng: random.Random | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> CrashReport:
    """Run the server under write load and SIGKILL it `crashes` times; check after each restart.

    After each restart: every write acknowledged before that crash reads back as it was
    answered, and the exported audit log verifies offline with every such write in it. At the
    end every write acknowledged in the whole run is checked once more.
    """
    rng = rng or random.Random()
    report = CrashReport()
    server = ServerProcess(dep, workdir / "server.log")
    all_acks: list[Ack] = []
    admin_key = create_admin_key(dep)
    server.start()
    try:
        with httpx.Client(base_url=dep.base_url, timeout=60) as http:
            cast = make_cast(http, admin_key)
            grant_id = make_grant(http, cast, holder_headers(http, cast))
            for n in range(1, crashes + 1):
                if should_stop():
                    break
                load = WriteLoad(dep.base_url, cast, grant_id, writers)
                load.start()
                # Kill while writes are in flight, at a moment the writers cannot predict.
                target = writes_before_kill + rng.randrange(writes_before_kill)
                deadline = time.monotonic() + 300
                while load.acknowledged() < target and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.random() * 0.05)
                server.kill9()
                load.stop()
                report.crashes += 1
                report.failed_writes += load.failed
                all_acks.extend(load.acked)
                server.start()
                lost = lost_writes(http, cast, load.acked)
                events, problems = verify_audit_log(http, cast, workdir, load.acked)
                report.lost.extend(lost)
                report.audit_failures.extend(problems)
                report.audit_events = events
                if progress is not None:
                    progress(
                        f"crash {n}/{crashes}: {len(load.acked)} acknowledged, "
                        f"{load.failed} cut off, {len(lost)} lost, "
                        f"audit {events} events {'ok' if not problems else 'FAILED'}"
                    )
            # Everything acknowledged in the whole run, once more after the last restart.
            report.lost.extend(lost_writes(http, cast, all_acks))
    finally:
        server.stop()
    report.acknowledged = len(all_acks)
    for ack in all_acks:
        report.by_kind[ack.kind] = report.by_kind.get(ack.kind, 0) + 1
    report.lost = sorted(set(report.lost))
    return report


# -- the issue-versus-withdraw race -------------------------------------------------------------


@dataclass
class RaceOutcome:
    issued: int
    refused: int
    valid_after: int  # licences that still verify VALID after the withdrawal: must be 0
    problems: list[str]


def race_round(
    base_url: str,
    *,
    studio: dict[str, str],
    holder: dict[str, str],
    grant_id: str,
    issuers: int,
    per_issuer: int,
) -> RaceOutcome:
    """`issuers` clients issue licences under a grant while its holder withdraws it.

    Every issuance must either be refused (409 consent_not_active) or be revoked by the
    withdrawal in its own transaction; no licence may verify as VALID afterwards.
    """
    start = threading.Barrier(issuers + 1)
    body = {"consent_id": grant_id, "scope": SCOPE}

    def issue_some() -> list[httpx.Response]:
        responses = []
        with httpx.Client(base_url=base_url, timeout=120) as http:
            start.wait()
            for _ in range(per_issuer):
                responses.append(http.post("/v1/licences", json=body, headers=studio))
        return responses

    def withdraw() -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            start.wait()
            http.get("/healthz")  # let a few issuances in first
            return http.post(f"/v1/consents/{grant_id}/withdraw", json={}, headers=holder)

    with ThreadPoolExecutor(max_workers=issuers + 1) as pool:
        issuing = [pool.submit(issue_some) for _ in range(issuers)]
        withdrawing = pool.submit(withdraw)
        results = [r for f in issuing for r in f.result()]
        withdrawal = withdrawing.result()

    problems: list[str] = []
    if withdrawal.status_code != 200:
        problems.append(f"withdrawal answered {withdrawal.status_code}: {withdrawal.text[:200]}")
    odd = [r for r in results if r.status_code not in (201, 409)]
    problems.extend(f"issuance answered {r.status_code}: {r.text[:200]}" for r in odd)
    problems.extend(
        f"refusal with code {r.json().get('code')}"
        for r in results
        if r.status_code == 409 and r.json().get("code") != "consent_not_active"
    )
    issued = [r.json() for r in results if r.status_code == 201]
    if withdrawal.status_code == 200:
        revoked = sorted(withdrawal.json()["revoked_licences"])
        if revoked != sorted(i["id"] for i in issued):
            problems.append("the withdrawal did not revoke exactly the licences issued before it")
    slots = {(i["status_list"]["uri"], i["status_list"]["idx"]) for i in issued}
    if len(slots) != len(issued):
        problems.append("two licences share a status-list slot")
    valid_after = 0
    with httpx.Client(base_url=base_url, timeout=120) as http:
        for licence in issued:
            verdict = http.post("/v1/licences/verify", json={"token": licence["token"]}).json()
            if verdict["code"] != "REVOKED":
                valid_after += verdict["code"] == "VALID"
                problems.append(f"licence {licence['id']} verifies {verdict['code']}")
    return RaceOutcome(
        issued=len(issued),
        refused=sum(r.status_code == 409 for r in results),
        valid_after=valid_after,
        problems=problems,
    )
