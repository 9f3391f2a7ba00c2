"""Schemathesis against the live app: every answer matches the OpenAPI document.

The app is served by uvicorn on loopback (real HTTP) over this run's database (SQLite or
PostgreSQL, as CONSENT_TEST_BACKEND says). Schemathesis generates valid and invalid requests for
every operation, as an admin, a studio and a holder: about 1,000 cases in all (set
CONSENT_FUZZ_CASES for more; bench/fuzz.py runs long campaigns on a scratch database). Checks:
no 5xx, and every status, media type and body as documented.
"""

from __future__ import annotations

import os

from bench.fuzz import fuzz


def test_schemathesis_finds_no_lie_in_the_document(
    live_server: str, admin_headers: dict[str, str], studio, holder
):
    result = fuzz(
        live_server,
        {"admin": admin_headers, "studio": studio.headers, "holder": holder.headers},
        cases=int(os.environ.get("CONSENT_FUZZ_CASES", "1000")),
        seed=int(os.environ.get("CONSENT_FUZZ_SEED", "20261129")),
    )
    assert result.failures == [], "\n".join(result.failures[:30])
    assert result.cases >= 500, result.summary()
