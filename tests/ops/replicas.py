"""Real `consent-service serve` processes on loopback ports, for proxy and replica tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from consent_service.config import Settings

REDIS_URL = os.environ.get("CONSENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replica_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The test app's settings (same database, master key and issuer) as CONSENT_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    assert settings.master_key is not None
    env.update(
        {
            "CONSENT_ENV": "development",
            "CONSENT_DATA_DIR": str(settings.data_dir),
            "CONSENT_DATABASE_URL": settings.resolved_database_url,
            "CONSENT_MASTER_KEY": settings.master_key.get_secret_value(),
            "CONSENT_ISSUER": settings.issuer,
            "CONSENT_ARGON2_TIME_COST": "1",
            "CONSENT_ARGON2_MEMORY_KIB": "1024",
            "CONSENT_EXPIRY_SWEEP_SECONDS": "0",
            "CONSENT_OUTBOX_IN_PROCESS": "false",
            "CONSENT_REQUIRE_EMAIL_CONFIRMATION": "false",
        }
    )
    env.update(overrides)
    return env


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """Run `consent-service serve --no-migrate` until the block ends; yields its base URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "consent_service.cli", "serve", "--no-migrate"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"replica exited: {log.read_text(errors='replace')}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica did not start: {log.read_text(errors='replace')}")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
