"""The composition root (wiring.py): behaviour does not depend on what was imported first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.config import Settings
from consent_service.consents.events import (
    GrantStatusChange,
    ListenersNotBound,
    grant_status_changed,
)
from tests.licences.conftest import Grant

# Imports the consent domain alone, checks that licences are not loaded, then creates the app
# and withdraws the grant through the API. The cascade must still revoke the licence: it is
# wired by create_app, not registered by whichever module happened to be imported.
SCRIPT = """
import json, os, sys
from consent_service.consents import service, events
assert "consent_service.licences.service" not in sys.modules, "licences loaded too early"
from fastapi.testclient import TestClient
from consent_service.config import Settings
from consent_service.main import create_app
settings = Settings(**json.loads(os.environ["WIRING_SETTINGS"]))
with TestClient(create_app(settings)) as client:
    r = client.post(
        os.environ["WIRING_WITHDRAW"], headers=json.loads(os.environ["WIRING_HEADERS"])
    )
print(json.dumps({"status": r.status_code, "body": r.json()}))
"""


def _settings_json(settings: Settings) -> str:
    return json.dumps(
        {
            "env": settings.env,
            "data_dir": str(settings.data_dir),
            "database_url": settings.resolved_database_url,
            "master_key": settings.master_key.get_secret_value() if settings.master_key else None,
            "issuer": settings.issuer,
            "argon2_time_cost": settings.argon2_time_cost,
            "argon2_memory_kib": settings.argon2_memory_kib,
        }
    )


def test_a_fresh_process_importing_only_consents_still_cascades_withdrawals_to_licences(
    client: TestClient,
    settings: Settings,
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
) -> None:
    licence = issue(grant)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update(
        {
            "WIRING_SETTINGS": _settings_json(settings),
            "WIRING_WITHDRAW": f"/v1/consents/{grant.id}/withdraw",
            "WIRING_HEADERS": json.dumps(grant.holder.headers),
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    assert answer["body"]["revoked_licences"] == [licence["id"]]
    # And this process, with its own app, sees the licence revoked in the database.
    r = client.get(f"/v1/licences/{licence['id']}", headers=grant.studio.headers)
    assert r.status_code == 200 and r.json()["status"] == "revoked"


def test_a_session_not_opened_by_the_wiring_cannot_skip_the_cascade(app: Any) -> None:
    change = GrantStatusChange(
        grant_id="cns_x",
        holder_id="hld_x",
        studio_id="org_x",
        old_status="active",
        new_status="withdrawn",
        actor_id="hld_x",
    )
    with Session(app.state.services.engine) as session, pytest.raises(ListenersNotBound):
        grant_status_changed(session, change)
    with app.state.services.session() as session:
        # Wired: the licences' cascade runs (and finds nothing under an unknown grant).
        assert grant_status_changed(session, change) == []
        session.rollback()
