"""Licence verification throughput, online and offline, as ratios measured in one run.

    .venv/bin/python bench/verify.py sqlite            # or: postgresql [--database-url URL]
    .venv/bin/python bench/verify.py sqlite --seconds 5 --concurrency 32

(a) `POST /v1/licences/verify` on the real service (uvicorn, one worker, in a subprocess),
(b) a bare FastAPI endpoint served the same way (same uvicorn options, a pydantic body, a
    sync route), both loaded by the same asyncio HTTP/1.1 keep-alive clients;
(c) the offline verifier in-process (`Verifier.from_documents`, JWKS and status list fetched
    once) against raw `cryptography` ECDSA P-256 verification of the same signing input:
    `offline_per_s` checks the signature every time (a token seen for the first time, known-
    token cache off), `known_token_per_s` is the same verifier with its cache of tokens whose
    signature held (a render pipeline checking one licence per frame; time and status are
    still checked on each call), `known_token_use_per_s` the same with a proposed use and an
    audience. The target for `known_token_ratio` (against raw ECDSA) is 20 or more.

The last line of stdout is one JSON object with verify_rps, baseline_rps, online_ratio,
p50_ms, p99_ms, offline_per_s, raw_ecdsa_per_s, offline_ratio, known_token_per_s,
known_token_use_per_s and known_token_ratio. Numbers depend on the machine
(and on whatever else runs on it); the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

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
from consent_service.licences.verifier import ProposedUse, Verifier  # noqa: E402


# -- the bare baseline app (served by uvicorn --factory bench.verify:baseline_app) ------------
class BaselineBody(BaseModel):
    token: str
    use: dict[str, Any] | None = None


def baseline_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/licences/verify")
    def verify(body: BaselineBody) -> dict[str, Any]:
        return {"valid": True, "code": "VALID", "detail": "baseline", "length": len(body.token)}

    return app


# -- processes ---------------------------------------------------------------------------------


# -- seeding through the API -------------------------------------------------------------------
def seed(base: str, admin_key: str, licences: int) -> tuple[list[str], list[str]]:
    """A studio, a holder, a grant and `licences` licences; returns (valid, revoked) tokens."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        org = http.post(
            "/v1/organizations", json={"name": "Bench", "kind": "studio"}, headers=admin
        )
        org.raise_for_status()
        key = http.post(
            f"/v1/organizations/{org.json()['id']}/api-keys", json={"name": "b"}, headers=admin
        ).json()["key"]
        studio = {"Authorization": f"Bearer {key}"}
        email = f"bench-{secrets.token_hex(4)}@example.org"
        signed_up = http.post(
            "/v1/holders",
            json={
                "legal_name": "Bench Holder",
                "email": email,
                "password": "a long passphrase!",
                "date_of_birth": "1985-01-01",
                "jurisdiction": "GB",
            },
        )
        signed_up.raise_for_status()
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": "a long passphrase!"},
        ).json()["access_token"]
        holder_headers = {"Authorization": f"Bearer {token}"}
        holder = http.get("/v1/holders/me", headers=holder_headers).json()
        now = datetime.now(UTC)
        terms = {
            "attributes": ["face", "voice"],
            "purposes": ["film_tv"],
            "intended_use_description": (
                "Digital replica of the performer's face for re-shoots of three night-time "
                "exterior scenes in the feature film Night Train, reviewed before release."
            ),
            "project": "Night Train",
            "territories": ["GB", "IE"],
            "media": ["streaming"],
            "replica_type": "independently_created",
            "replaces_in_person_work": False,
            "representation": {"kind": "none"},
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=300)).isoformat(),
        }
        request = http.post(
            "/v1/consent-requests",
            json={"holder_id": holder["id"], "terms": terms},
            headers=studio,
        )
        request.raise_for_status()
        accepted = http.post(
            f"/v1/consent-requests/{request.json()['id']}/accept",
            json={
                "notice_sha256": request.json()["notice"]["sha256"],
                "signature": {"signed_name": "Bench Holder", "method": "typed_name"},
            },
            headers=holder_headers,
        )
        accepted.raise_for_status()
        consent_id = accepted.json()["consent"]["id"]
        scope = {
            "attributes": ["face"],
            "purposes": ["film_tv"],
            "territories": ["GB"],
            "media": ["streaming"],
        }
        tokens = []
        for _ in range(licences):
            r = http.post(
                "/v1/licences", json={"consent_id": consent_id, "scope": scope}, headers=studio
            )
            r.raise_for_status()
            tokens.append((r.json()["id"], r.json()["token"]))
        revoked = tokens[: licences // 10]
        for licence_id, _token in revoked:
            http.post(
                f"/v1/licences/{licence_id}/revoke", json={"reason": "bench"}, headers=studio
            ).raise_for_status()
        return [t for _i, t in tokens[licences // 10 :]], [t for _i, t in revoked]


# -- the load generator: asyncio HTTP/1.1 keep-alive, so the client is not the bottleneck ------
async def _worker(
    host: str,
    port: int,
    bodies: list[bytes],
    stop_at: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = secrets.randbelow(len(bodies))
    try:
        while time.perf_counter() < stop_at:
            body = bodies[i % len(bodies)]
            i += 1
            request = (
                b"POST /v1/licences/verify HTTP/1.1\r\nHost: bench\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + payload[:200].decode())
    finally:
        writer.close()


async def _window(
    base: str,
    bodies: list[bytes],
    seconds: float,
    concurrency: int,
    latencies: list[float],
    errors: list[str],
) -> float:
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_worker(host, port, bodies, stop_at, latencies, errors) for _ in range(concurrency))
    )
    return time.perf_counter() - started


def _summary(latencies: list[float], elapsed: float, errors: list[str]) -> dict[str, Any]:
    latencies = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def _interleaved(
    targets: dict[str, str], bodies: list[bytes], seconds: float, concurrency: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """Load each target in turn, `rounds` times, so that both see the same background load."""
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    errors: dict[str, list[str]] = {name: [] for name in targets}
    elapsed = dict.fromkeys(targets, 0.0)
    cpu = dict.fromkeys(targets, 0.0)
    for name, base in targets.items():  # warm-up: connections, caches, first imports
        await _window(base, bodies, 0.5, concurrency, [], errors[name])
    for _ in range(rounds):
        for name, base in targets.items():
            cpu_before = cpu_seconds(SERVER_PIDS[base])
            elapsed[name] += await _window(
                base, bodies, seconds / rounds, concurrency, latencies[name], errors[name]
            )
            cpu[name] += cpu_seconds(SERVER_PIDS[base]) - cpu_before
    summaries = {}
    for name in targets:
        summary = _summary(latencies[name], elapsed[name], errors[name])
        summary["server_cpu_us_per_request"] = cpu[name] / max(1, len(latencies[name])) * 1e6
        summaries[name] = summary
    return summaries


def load(
    targets: dict[str, str], bodies: list[bytes], seconds: float, concurrency: int, rounds: int
) -> dict[str, dict[str, Any]]:
    return asyncio.run(_interleaved(targets, bodies, seconds, concurrency, rounds))


# -- offline: the verifier against raw ECDSA ---------------------------------------------------
def _interleaved_rates(fns: dict[str, Any], seconds: float) -> dict[str, float]:
    """Calls per second of each function, run in alternating short batches (same load).

    Each function's batch is sized to last about 5 ms, so that a fast function and a slow one
    get the same share of the wall clock and see the same background load.
    """
    batch = {}
    for name, fn in fns.items():
        started, calls = time.perf_counter(), 0
        while time.perf_counter() - started < 0.05:
            fn()
            calls += 1
        batch[name] = max(1, int(calls / (time.perf_counter() - started) * 0.005))
    counts, spent = dict.fromkeys(fns, 0), dict.fromkeys(fns, 0.0)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, fn in fns.items():
            size = batch[name]
            started = time.perf_counter()
            for _ in range(size):
                fn()
            spent[name] += time.perf_counter() - started
            counts[name] += size
    return {name: counts[name] / spent[name] for name in fns}


def offline(base: str, token: str, seconds: float) -> dict[str, float]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    jwks = httpx.get(f"{base}/.well-known/jwks.json").json()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    status_list = httpx.get(claims["status"]["status_list"]["uri"]).text
    first_sight = Verifier.from_documents(jwks=jwks, status_lists=[status_list], issuer=base)
    first_sight.known = None  # every call checks the signature
    known = Verifier.from_documents(jwks=jwks, status_lists=[status_list], issuer=base)
    use = ProposedUse(attribute="face", purpose="film_tv", territory="GB", medium="streaming")
    assert first_sight.verify(token).code == "VALID"
    assert known.verify(token).code == "VALID"
    assert known.verify(token, use, audience=claims["aud"]).code == "VALID"

    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])

    def coordinate(name: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(jwk[name] + "=="), "big")

    public = ec.EllipticCurvePublicNumbers(
        coordinate("x"), coordinate("y"), ec.SECP256R1()
    ).public_key()
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    raw = base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    algorithm = ec.ECDSA(hashes.SHA256())
    public.verify(der, signing_input, algorithm)

    rates = _interleaved_rates(
        {
            "raw_ecdsa_per_s": lambda: public.verify(der, signing_input, algorithm),
            "offline_per_s": lambda: first_sight.verify(token),
            "known_token_per_s": lambda: known.verify(token),
            "known_token_use_per_s": lambda: known.verify(token, use, audience=claims["aud"]),
        },
        seconds,
    )
    return rates


# -- main --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--licences", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4, help="alternations of (a) and (b)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CONSENT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create a scratch database on",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="service log level (INFO writes an access-log line per request)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        data_dir = Path(tmp)
        with database(args.backend, data_dir, args.database_url) as url:
            migrations.upgrade(url)
            # The issuer URL names the port, so pick it before starting.
            port = free_port()
            env = service_env(
                data_dir,
                url,
                port,
                CONSENT_VERIFY_RATE_LIMIT_PER_MINUTE=str(10**9),
                # The bench signs consents without reading mail (a real holder confirms).
                CONSENT_REQUIRE_EMAIL_CONFIRMATION="false",
                CONSENT_LOG_LEVEL=args.log_level,
            )
            key = admin_key(url, "bench")
            with (
                serve("consent_service.main:app_factory", env, port) as base,
                serve("bench.verify:baseline_app", env) as baseline_base,
            ):
                valid, revoked = seed(base, key, args.licences)
                use = {
                    "attribute": "face",
                    "purpose": "film_tv",
                    "territory": "GB",
                    "medium": "streaming",
                }
                bodies = [json.dumps({"token": t}).encode() for t in valid]
                bodies += [json.dumps({"token": t, "use": use}).encode() for t in valid[:20]]
                bodies += [json.dumps({"token": t}).encode() for t in revoked]
                print(f"seeded {len(valid)} valid and {len(revoked)} revoked licences", flush=True)
                measured = load(
                    {"online": base, "baseline": baseline_base},
                    bodies,
                    args.seconds,
                    args.concurrency,
                    args.rounds,
                )
                online, baseline = measured["online"], measured["baseline"]
                print(f"online verify: {json.dumps(online)}", flush=True)
                print(f"baseline: {json.dumps(baseline)}", flush=True)
                offline_figures = offline(base, valid[0], args.seconds)
                print(f"offline: {json.dumps(offline_figures)}", flush=True)

    result = {
        "backend": args.backend,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "verify_rps": round(online["rps"], 1),
        "baseline_rps": round(baseline["rps"], 1),
        "online_ratio": round(online["rps"] / baseline["rps"], 3),
        "p50_ms": round(online["p50_ms"], 2),
        "p99_ms": round(online["p99_ms"], 2),
        "baseline_p99_ms": round(baseline["p99_ms"], 2),
        # Server CPU time per request: independent of what else runs on the machine.
        "verify_cpu_us": round(online["server_cpu_us_per_request"], 1),
        "baseline_cpu_us": round(baseline["server_cpu_us_per_request"], 1),
        "cpu_ratio": round(
            baseline["server_cpu_us_per_request"] / online["server_cpu_us_per_request"], 3
        ),
        "verify_errors": online["errors"],
        "offline_per_s": round(offline_figures["offline_per_s"], 1),
        "raw_ecdsa_per_s": round(offline_figures["raw_ecdsa_per_s"], 1),
        "offline_ratio": round(
            offline_figures["offline_per_s"] / offline_figures["raw_ecdsa_per_s"], 3
        ),
        "known_token_per_s": round(offline_figures["known_token_per_s"], 1),
        "known_token_use_per_s": round(offline_figures["known_token_use_per_s"], 1),
        "known_token_ratio": round(
            offline_figures["known_token_per_s"] / offline_figures["raw_ecdsa_per_s"], 2
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
