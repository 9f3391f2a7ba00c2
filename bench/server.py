"""What every bench needs to run the service for real: a scratch database, the environment of
a bench server, an admin key, and uvicorn in a subprocess on a free loopback port.

    with database("postgresql", data_dir, pg_url) as url:
        migrations.upgrade(url)
        port = free_port()
        env = service_env(data_dir, url, port, CONSENT_LOG_LEVEL="INFO")
        key = admin_key(url, "bench")
        with serve("consent_service.main:app_factory", env, port) as base:
            ...

`SERVER_PIDS` maps each served base URL to its process id, for CPU accounting (`cpu_seconds`).
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to compare servers under any load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(data_dir: Path, url: str, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a bench server: this process's, minus any CONSENT_ setting of the
    caller's shell, plus a fresh master key, cheap password hashing (the benches measure the
    registry, not Argon2), the issuer on `port`, and `overrides` last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update(
        {
            "CONSENT_DATA_DIR": str(data_dir),
            "CONSENT_DATABASE_URL": url,
            "CONSENT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CONSENT_ISSUER": f"http://127.0.0.1:{port}",
            "CONSENT_ARGON2_TIME_COST": "1",
            "CONSENT_ARGON2_MEMORY_KIB": "1024",
            "CONSENT_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(overrides)
    return env


def admin_key(url: str, name: str) -> str:
    """A new admin API key in the (migrated) database at `url`."""
    from sqlmodel import Session

    from consent_service.accounts import service as accounts
    from consent_service.db import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            _row, key = accounts.create_admin_key(session, name=name)
            session.commit()
    finally:
        engine.dispose()
    return key


@contextmanager
def serve(target: str, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """uvicorn serving the app factory `target` (one worker) until the block ends."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = process.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{target} exited with {process.returncode}")
            try:
                httpx.get(f"{base}/docs", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def database(backend: str, data_dir: Path, pg_url: str) -> Iterator[str]:
    """A scratch database: a file in `data_dir` on SQLite, a new database (and its key store's)
    on the PostgreSQL server of `pg_url`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{(data_dir / 'consent.db').as_posix()}"
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # The migrations created the key store's database beside it (crypto/keystore.py).
            for db in (name, f"{name}_keystore"):
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=:n"
                    ),
                    {"n": db},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}"'))
        admin.dispose()
