"""The manifest this service embeds, and how to find its parts again. Pure: no I/O.

A manifest (C2PA 2.x) made by `consent-service c2pa sign` holds three assertions:

1. `c2pa.actions`: one `c2pa.created` action whose `digitalSourceType` is the IPTC term
   `trainedAlgorithmicMedia` - the machine-readable mark that the content is synthetic
   (EU AI Act Art. 50(2)).
2. `consent_service.licence` (this service's own label): the licence JWT, where its status is
   published (the status-list pointer of the IETF Token Status List draft), the registry's
   issuer URL, the usage receipt when one was recorded, the use it was made for and when.
3. `cawg.training-mining` (CAWG Training and Data Mining assertion 1.x): whether the content may
   be mined or used to train or run AI models. `notAllowed` for every entry unless the licence
   covers the purpose `ai_training`; then `constrained`, with the licence as the constraint.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

ACTIONS_LABELS = ("c2pa.actions", "c2pa.actions.v2")
LICENCE_LABEL = "consent_service.licence"
TRAINING_MINING_LABEL = "cawg.training-mining"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LICENCE_ASSERTION_VERSION = 1
# The CAWG entries, all set alike: the licence governs every machine use of the likeness.
TRAINING_MINING_ENTRIES = (
    "cawg.data_mining",
    "cawg.ai_inference",
    "cawg.ai_generative_training",
    "cawg.ai_training",
)
AI_TRAINING_PURPOSE = "ai_training"


class NotALicence(ValueError):
    """The token given to sign is not a compact JWS with a JSON object payload."""


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, not verified (the caller verifies the licence first)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise NotALicence("the licence is not a compact JWS")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise NotALicence("the licence payload is not base64url JSON") from exc
    if not isinstance(claims, dict):
        raise NotALicence("the licence payload is not a JSON object")
    return claims


def covers_ai_training(scope: Mapping[str, Any]) -> bool:
    """Whether a licence scope lists the purpose `ai_training` (never implied, CONSENT_RULES)."""
    purposes = scope.get("purposes")
    return isinstance(purposes, list) and AI_TRAINING_PURPOSE in purposes


def training_mining(claims: Mapping[str, Any], *, issuer: str) -> dict[str, Any]:
    """The CAWG training-and-data-mining assertion data for a licence's claims."""
    scope = claims.get("scope")
    if isinstance(scope, Mapping) and covers_ai_training(scope):
        info = (
            f"Only under licence {claims.get('jti')} from {issuer}; "
            f"check it at {issuer}/v1/licences/verify"
        )
        entry: dict[str, Any] = {"use": "constrained", "constraint_info": info}
    else:
        entry = {"use": "notAllowed"}
    return {"entries": {name: dict(entry) for name in TRAINING_MINING_ENTRIES}}


def training_mining_excess(data: Mapping[str, Any] | None, *, covers_training: bool) -> str | None:
    """What a training-mining assertion permits beyond its licence, or None when it does not.

    Each of the four CAWG entries must be there; `notAllowed` unless the licence covers
    `ai_training`, then `constrained` (or `notAllowed`). Entries of other names are not judged.
    """
    entries = data.get("entries") if data is not None else None
    if not isinstance(entries, Mapping):
        return f"the manifest has no {TRAINING_MINING_LABEL} assertion with entries"
    permitted = ("notAllowed", "constrained") if covers_training else ("notAllowed",)
    for name in TRAINING_MINING_ENTRIES:
        entry = entries.get(name)
        use = entry.get("use") if isinstance(entry, Mapping) else None
        if use not in permitted:
            return f"{name} is {use or 'missing'}; the licence permits {' or '.join(permitted)}"
    return None


def manifest_definition(
    *,
    licence: str,
    claims: Mapping[str, Any],
    issuer: str,
    usage_receipt: str | None,
    use: Mapping[str, Any] | None,
    used_at: datetime,
    title: str,
    generator_version: str,
) -> dict[str, Any]:
    """The manifest definition (c2pa-rs's JSON form) for one signed file."""
    status = claims.get("status")
    status_list = status.get("status_list") if isinstance(status, Mapping) else None
    licence_data = {
        "version": LICENCE_ASSERTION_VERSION,
        "issuer": issuer,
        "licence": licence,
        "licence_id": claims.get("jti"),
        "status_list": dict(status_list) if isinstance(status_list, Mapping) else None,
        "usage_receipt": usage_receipt,
        "use": dict(use) if use else None,
        "used_at": used_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {
        "claim_generator_info": [{"name": "consent_service", "version": generator_version}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
                    ]
                },
            },
            {"label": LICENCE_LABEL, "data": licence_data},
            {"label": TRAINING_MINING_LABEL, "data": training_mining(claims, issuer=issuer)},
        ],
    }


def active_manifest(store: Mapping[str, Any]) -> dict[str, Any] | None:
    """The active manifest of a manifest store (c2pa-rs JSON), or None."""
    label = store.get("active_manifest")
    manifests = store.get("manifests")
    if not isinstance(label, str) or not isinstance(manifests, Mapping):
        return None
    found = manifests.get(label)
    return found if isinstance(found, dict) else None


def assertion(manifest: Mapping[str, Any], *labels: str) -> dict[str, Any] | None:
    """The data of the first assertion with one of `labels`, or None."""
    for item in manifest.get("assertions") or ():
        if isinstance(item, Mapping) and item.get("label") in labels:
            data = item.get("data")
            return data if isinstance(data, dict) else None
    return None


def digital_source_types(manifest: Mapping[str, Any]) -> list[str]:
    """The `digitalSourceType` of each `c2pa.created` action of a manifest."""
    actions = assertion(manifest, *ACTIONS_LABELS) or {}
    return [
        action["digitalSourceType"]
        for action in actions.get("actions") or ()
        if isinstance(action, Mapping)
        and action.get("action") == "c2pa.created"
        and isinstance(action.get("digitalSourceType"), str)
    ]
