"""Manifests this service did not make (or made differently): what `c2pa verify` says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent_service.provenance import media as c2pa_media
from consent_service.provenance.ca import CaFiles
from consent_service.provenance.manifest import (
    LICENCE_LABEL,
    TRAINING_MINING_LABEL,
    manifest_definition,
    unverified_claims,
)
from tests.provenance import media
from tests.provenance.conftest import Registry, run_c2pa


def definition_for(licence: str) -> dict[str, Any]:
    claims = unverified_claims(licence)
    return manifest_definition(
        licence=licence,
        claims=claims,
        issuer=claims["iss"],
        usage_receipt=None,
        use=None,
        used_at=datetime.now(UTC),
        title="render.png",
        generator_version="test",
    )


def sign_with(dev_ca: CaFiles, tmp_path: Path, definition: dict[str, Any]) -> Path:
    source, output = tmp_path / "render.png", tmp_path / "signed.png"
    source.write_bytes(media.png())
    c2pa_media.sign_file(
        source,
        output,
        manifest=definition,
        cert_chain_pem=dev_ca.chain.read_bytes(),
        private_key_pem=dev_ca.signing_key.read_bytes(),
    )
    return output


def test_a_manifest_permitting_more_training_than_the_licence_fails(
    tmp_path: Path, dev_ca: CaFiles, licensed: dict[str, Any], registry: Registry
):
    definition = definition_for(licensed["token"])
    for item in definition["assertions"]:
        if item["label"] == TRAINING_MINING_LABEL:
            item["data"]["entries"]["cawg.ai_generative_training"] = {"use": "allowed"}
    signed = sign_with(dev_ca, tmp_path, definition)
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert (code, verdict["code"]) == (1, "TRAINING_MINING_MISMATCH"), verdict
    assert "cawg.ai_generative_training is allowed" in verdict["detail"]
    assert verdict["licence"]["code"] == "VALID"  # the licence itself is fine


def test_a_c2pa_manifest_without_a_licence_answers_no_licence(
    tmp_path: Path, dev_ca: CaFiles, licensed: dict[str, Any], registry: Registry
):
    definition = definition_for(licensed["token"])
    definition["assertions"] = [a for a in definition["assertions"] if a["label"] != LICENCE_LABEL]
    signed = sign_with(dev_ca, tmp_path, definition)
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert (code, verdict["code"]) == (1, "NO_LICENCE"), verdict
    assert verdict["manifest"]["validation_state"] == "Valid"


SERVER_ONLY = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "uvicorn")
SCRIPT = """
import json, sys
from consent_service.cli import app
try:
    app({argv!r}, prog_name="consent-service")
except SystemExit as exc:
    code = exc.code
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({server!r}))
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


def test_c2pa_verify_runs_without_the_server(
    tmp_path: Path, dev_ca: CaFiles, licensed: dict[str, Any], registry: Registry
):
    signed = sign_with(dev_ca, tmp_path, definition_for(licensed["token"]))
    argv = ["c2pa", "verify", str(signed), *registry.options()]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=argv, server=SERVER_ONLY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    verdict, answer = json.loads(lines[-2]), json.loads(lines[-1])
    assert (answer["code"], verdict["code"]) == (0, "VALID"), result.stdout
    assert answer["loaded"] == [], answer
