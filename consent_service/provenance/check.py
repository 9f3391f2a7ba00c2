"""Verify a file's provenance: its C2PA manifest, then the licence it carries. One verdict.

Free of the server (no web framework, no database): `consent-service c2pa verify` runs it with
the offline verifier (licences/verifier.py), the HTTP route with the registry's online check.
Both hand in the licence check as a function, so the licence codes are the verifier's own.

The checks, in order; the first that fails gives the verdict's code:

1. The file is a format C2PA covers and carries a manifest (`UNSUPPORTED_FORMAT`,
   `NO_MANIFEST`, `MANIFEST_UNREADABLE`).
2. c2pa-rs validates the manifest: claim signature, certificate profile and the hard binding
   of the manifest to every byte of content, so any edit after signing fails
   (`MANIFEST_INVALID`, with c2pa-rs's failure codes).
3. When trust anchors are given, the signing certificate chains to one of them
   (`UNTRUSTED_SIGNER`).
4. The active manifest holds a `consent_service.licence` assertion (`NO_LICENCE`) with a
   well-formed recorded use (`MALFORMED`).
5. The licence verifies for the recorded use: signature, issuer, term at the time of use,
   status now (a withdrawal after signing answers `REVOKED`), scope (the verifier's codes).
6. The CAWG training-and-data-mining assertion permits no more than the licence: every entry
   `notAllowed` unless the licence covers `ai_training` (`TRAINING_MINING_MISMATCH`).
7. A usage receipt, when one is embedded and is a compact JWS, verifies with the registry's
   keys as a `usage-receipt+jwt` and names this file's licence (`USAGE_RECEIPT_INVALID`,
   usages/ issues them: `POST /v1/licences/{id}/usages`); one that is not a JWS is carried
   as opaque text and reported as not checked.

A source that cannot be had (key set, status list) raises `CannotCheck`: no verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jose.backends.base import Key as JoseKey

from consent_service.crypto import signing
from consent_service.licences.verifier import ProposedUse, Verdict
from consent_service.provenance import manifest as manifest_rules
from consent_service.provenance import media

USAGE_RECEIPT_TYP = "usage-receipt+jwt"

VALID = "VALID"
UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
NO_MANIFEST = "NO_MANIFEST"
MANIFEST_UNREADABLE = "MANIFEST_UNREADABLE"
MANIFEST_INVALID = "MANIFEST_INVALID"
UNTRUSTED_SIGNER = "UNTRUSTED_SIGNER"
NO_LICENCE = "NO_LICENCE"
MALFORMED = "MALFORMED"
USAGE_RECEIPT_INVALID = "USAGE_RECEIPT_INVALID"
TRAINING_MINING_MISMATCH = "TRAINING_MINING_MISMATCH"

# The recorded use's fields, as ProposedUse names them.
_USE_FIELDS = ("attribute", "purpose", "territory", "medium", "project")

LicenceCheck = Callable[[str, ProposedUse | None], Verdict]
KeyLookup = Callable[[str], JoseKey | None]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class ProvenanceVerdict:
    """The answer about one file; `valid` only for `VALID`."""

    code: str
    detail: str
    checked_at: datetime
    manifest: dict[str, Any] | None = None
    licence: Verdict | None = None
    usage_receipt: dict[str, Any] | None = None
    recorded: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.code == VALID

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the shape of `POST /v1/provenance/verify`."""
        return {
            "valid": self.valid,
            "code": self.code,
            "detail": self.detail,
            "checked_at": _rfc3339(self.checked_at),
            "manifest": self.manifest,
            "licence": self.licence.to_dict() if self.licence is not None else None,
            "usage_receipt": self.usage_receipt,
            "recorded": self.recorded,
        }


def _failures(store: Mapping[str, Any]) -> list[str]:
    """c2pa-rs's failure codes for the active manifest (and any in the store's status)."""
    codes: list[str] = []
    results = store.get("validation_results")
    active = results.get("activeManifest") if isinstance(results, Mapping) else None
    for item in (active or {}).get("failure") or ():
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            codes.append(item["code"])
    for item in store.get("validation_status") or ():
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            codes.append(item["code"])
    return list(dict.fromkeys(codes))


def _manifest_summary(store: Mapping[str, Any], active: Mapping[str, Any] | None) -> dict[str, Any]:
    signature = (active or {}).get("signature_info") or {}
    return {
        "validation_state": store.get("validation_state"),
        "trusted": store.get("validation_state") == "Trusted",
        "failures": _failures(store),
        "signer": {
            "issuer": signature.get("issuer"),
            "common_name": signature.get("common_name"),
            "time": signature.get("time"),
        },
        "digital_source_types": manifest_rules.digital_source_types(active or {}),
        "training_mining": manifest_rules.assertion(
            active or {}, manifest_rules.TRAINING_MINING_LABEL
        ),
    }


def recorded_use(data: Mapping[str, Any]) -> ProposedUse | None:
    """The use recorded in a licence assertion, at its recorded time; ValueError if malformed."""
    use = data.get("use")
    used_at = data.get("used_at")
    if use is None and used_at is None:
        return None
    if use is not None and not isinstance(use, Mapping):
        raise ValueError("the recorded use is not an object")
    values: dict[str, str] = {}
    for name in _USE_FIELDS:
        value = (use or {}).get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"the recorded use's {name} is not a string")
        if value is not None:
            values[name] = value
    categories = (use or {}).get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValueError("the recorded use's categories are not a list of strings")
    at = None
    if used_at is not None:
        if not isinstance(used_at, str):
            raise ValueError("used_at is not a string")
        at = datetime.fromisoformat(used_at.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("used_at has no UTC offset")
    return ProposedUse(categories=tuple(categories), at=at, **values)


def check_receipt(receipt: Any, *, key_for: KeyLookup) -> dict[str, Any]:
    """The usage receipt's check: `checked` (it is a JWS), `valid` and a detail."""
    if not isinstance(receipt, str) or receipt.count(".") != 2:
        return {"present": True, "checked": False, "valid": None, "detail": "not a compact JWS"}
    try:
        header = signing.read_header(receipt)
    except signing.SignatureError:
        return {"present": True, "checked": False, "valid": None, "detail": "not a compact JWS"}
    key = key_for(header["kid"])
    if key is None:
        detail = "signed with a key that is not in the registry's key set"
        return {"present": True, "checked": True, "valid": False, "detail": detail}
    try:
        _header, claims = signing.verify(receipt, keys={header["kid"]: key}, typ=USAGE_RECEIPT_TYP)
    except signing.SignatureError as exc:
        detail = f"{exc} ({exc.code})"
        return {"present": True, "checked": True, "valid": False, "detail": detail}
    return {
        "present": True,
        "checked": True,
        "valid": True,
        "detail": "the receipt verifies with the registry's key",
        "claims": claims,
    }


def check_file(
    path: Path,
    *,
    verify_licence: LicenceCheck,
    receipt_key_for: KeyLookup,
    trust_anchors_pem: str | None,
    now: datetime | None = None,
) -> ProvenanceVerdict:
    """Check the file at `path` and answer one `ProvenanceVerdict` (see the module docstring).

    `verify_licence(token, use)` is the licence check (offline `Verifier.verify` or the online
    one); `receipt_key_for(kid)` gives the registry's public key for a kid; `trust_anchors_pem`
    are the PEM roots the signing certificate must chain to (None: the chain is not judged).
    `CannotCheck` from either function passes through.
    """
    checked_at = (now or datetime.now(UTC)).astimezone(UTC)
    answer = ProvenanceVerdict(code=VALID, detail="", checked_at=checked_at)

    def verdict(code: str, detail: str) -> ProvenanceVerdict:
        answer.code, answer.detail = code, detail
        return answer

    # 1. A manifest store that c2pa-rs can read.
    try:
        store = media.read_manifest_store(path, trust_anchors_pem=trust_anchors_pem)
    except media.UnsupportedFormat as exc:
        return verdict(UNSUPPORTED_FORMAT, str(exc))
    except media.ManifestMissing as exc:
        return verdict(NO_MANIFEST, str(exc))
    except media.ManifestUnreadable as exc:
        return verdict(MANIFEST_UNREADABLE, str(exc))
    active = manifest_rules.active_manifest(store)
    answer.manifest = _manifest_summary(store, active)
    state = store.get("validation_state")
    # 2. Signature, certificate profile and content binding all hold.
    if active is None or state not in ("Valid", "Trusted"):
        failures = ", ".join(answer.manifest["failures"]) or f"state {state}"
        return verdict(MANIFEST_INVALID, f"the manifest does not validate: {failures}")
    # 3. The signer chains to a trust anchor, when the caller named anchors.
    if trust_anchors_pem and state != "Trusted":
        return verdict(UNTRUSTED_SIGNER, "the signing certificate is not from a trusted CA")
    # 4. The licence assertion, with its recorded use.
    data = manifest_rules.assertion(active, manifest_rules.LICENCE_LABEL)
    if data is None or not isinstance(data.get("licence"), str):
        return verdict(NO_LICENCE, "the manifest carries no consent_service licence")
    answer.recorded = {
        "issuer": data.get("issuer"),
        "licence_id": data.get("licence_id"),
        "status_list": data.get("status_list"),
        "use": data.get("use"),
        "used_at": data.get("used_at"),
    }
    try:
        use = recorded_use(data)
    except ValueError as exc:
        return verdict(MALFORMED, f"the licence assertion is malformed: {exc}")
    # 5. The licence, for the recorded use (status as of now).
    answer.licence = verify_licence(data["licence"], use)
    if not answer.licence.valid:
        return verdict(answer.licence.code, answer.licence.detail)
    # 6. The training-and-data-mining assertion claims no more than the licence grants.
    excess = manifest_rules.training_mining_excess(
        manifest_rules.assertion(active, manifest_rules.TRAINING_MINING_LABEL),
        covers_training=manifest_rules.covers_ai_training(answer.licence.scope or {}),
    )
    if excess is not None:
        return verdict(TRAINING_MINING_MISMATCH, excess)
    # 7. The usage receipt, when there is one.
    receipt = data.get("usage_receipt")
    if receipt is not None:
        answer.usage_receipt = check_receipt(receipt, key_for=receipt_key_for)
        if answer.usage_receipt["valid"] is False:
            return verdict(USAGE_RECEIPT_INVALID, answer.usage_receipt["detail"])
        # A genuine receipt of some other licence's usage proves nothing about this file.
        named = (answer.usage_receipt.get("claims") or {}).get("licence")
        if answer.usage_receipt["valid"] and named != answer.licence.licence_id:
            answer.usage_receipt["valid"] = False
            answer.usage_receipt["detail"] = "the receipt is for a usage under another licence"
            return verdict(USAGE_RECEIPT_INVALID, answer.usage_receipt["detail"])
    detail = "the manifest validates and the licence is valid for the recorded use"
    if not trust_anchors_pem:
        detail += " (the signing certificate's chain was not judged: no trust anchors given)"
    return verdict(VALID, detail)
