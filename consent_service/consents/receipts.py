"""Consent receipts: signed (ES256 compact JWS) records of a grant's state, for the holder.

The payload follows two standards, to the letter, and the registry's own record beside them
(docs/consent.md, "Consent receipts", has the field table):

- **Kantara Initiative Consent Receipt Specification v1.1.0** (KI-CR-v1.1.0): the top-level
  members `version`, `jurisdiction`, `consentTimestamp` (integer seconds since the epoch),
  `collectionMethod`, `consentReceiptID`, `language`, `piiPrincipalId`, `piiControllers`,
  `policyUrl`, `services` (each with `purposes`), `sensitive` and `spiCat`.
- **ISO/IEC TS 27560:2023** (consent record information structure), in the namespaced member
  `iso27560`, with its field names (`record_id`, `lawful_basis`, `storage_locations`,
  `retention_period`, `recipient_third_parties`, `withdrawal_method`, `events` with
  `event_time`, `event_type`, `event_state`, `event_by`, `validity_duration`) and W3C Data
  Privacy Vocabulary (DPV) terms as values (`dpv:ConsentGiven`, `eu-gdpr:A9-2-a`, ...), as the
  DPV's "Implementing ISO/IEC TS 27560:2023 using DPV" guide maps them.
- The registry's own members: the scope (`attributes`, `purposes`, `territories`, `media`,
  `prohibited_uses`), `choices`, `notice`, `signature`, `consent_state`, `holder_assurance` and
  `audit_seq`: the sequence number of the audit event that recorded the change, so the holder
  can ask for that event's inclusion proof in the audit log's Merkle tree.

`receipt.schema.json` (JSON Schema 2020-12, published at GET /v1/schemas/consent-receipt) is
written from the two specifications and checks all of it. A receipt verifies with nothing but
the JWKS at `/.well-known/jwks.json` (any JOSE library).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from sqlmodel import Session

from consent_service import vocabulary
from consent_service.accounts.principal import Principal, Role
from consent_service.consents import repository
from consent_service.consents.models import ConsentGrant, ConsentReceipt
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.ids import new_id
from consent_service.operator import Operator
from consent_service.verification import service as verification

RECEIPT_TYP = "consent-receipt+jwt"
KANTARA_VERSION = "KI-CR-v1.1.0"
ISO_27560_SCHEMA = "ISO/IEC TS 27560:2023"
SCHEMA_PATH = "/v1/schemas/consent-receipt"
SCHEMA_MEDIA_TYPE = "application/schema+json"
# CURIE prefixes of the DPV terms used as values (W3C DPV 2).
PREFIXES = {
    "dpv": "https://w3id.org/dpv#",
    "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
    "pd": "https://w3id.org/dpv/pd#",
}
# Likeness (face, voice, body) is treated as biometric data: GDPR Art. 9(1).
SPI_CATEGORIES = ["biometric"]
CONSENT_TYPE = "EXPLICIT"  # Kantara `consentType`
DPV_CONSENT_TYPE = "dpv:ExplicitlyExpressedConsent"
LAWFUL_BASIS = {
    "dpv": DPV_CONSENT_TYPE,
    "legal_basis": "eu-gdpr:A9-2-a",
    "description": "explicit consent to the processing of biometric data (GDPR Art. 9(2)(a))",
}
RECORD_RETENTION = (
    "The consent record, its receipts and their audit events are kept for as long as the "
    "registry operates, so that uses can be checked against them; their personal fields are "
    "encrypted and destroyed by key deletion when the holder is erased."
)

# The grant's state as a DPV consent status (dpv:hasConsentStatus). DPV has no "suspended"
# state: a suspended consent is stated as not valid for processing, its parent concept.
# A consent that ends at the holder's death has lapsed on its context: dpv:ConsentExpired.
DPV_STATE = {
    "active": "dpv:ConsentGiven",
    "withdrawn": "dpv:ConsentWithdrawn",
    "revoked": "dpv:ConsentRevoked",
    "suspended": "dpv:ConsentStatusInvalidForProcessing",
    "expired": "dpv:ConsentExpired",
    "ended_by_death": "dpv:ConsentExpired",
}
# Who acted, as a DPV entity: the holder, their guardian, another representative, or the
# registry's operator (an admin, a verifier, or the system on its own schedule).
DPV_ENTITY = {
    "holder": "dpv:DataSubject",
    "guardian": "dpv:GuardianOfDataSubject",
    "executor": "dpv:Representative",
    "representative": "dpv:Representative",
    "attorney": "dpv:Representative",
    "agent": "dpv:Representative",
    "admin": "dpv:DataController",
    "verifier": "dpv:DataController",
    "system": "dpv:DataController",
}
GRANTED = "consent.granted"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: a registry role and the pseudonymous id the audit log names."""

    role: str
    id: str

    def as_claim(self) -> dict[str, str]:
        return {"role": self.role, "id": self.id, "dpv": DPV_ENTITY.get(self.role, "dpv:Entity")}


SYSTEM = Actor(role="system", id="system")


def actor_of(principal: Principal | None) -> Actor:
    """The actor of a change made by `principal` (None: the system itself)."""
    if principal is None:
        return SYSTEM
    if principal.representative_kind is not None:
        return Actor(role=principal.representative_kind, id=principal.actor_id)
    if principal.role is Role.holder:
        return Actor(role="holder", id=principal.actor_id)
    return Actor(role=principal.role.value, id=principal.actor_id)


def signer_of(grant: ConsentGrant) -> Actor:
    """Who gave the consent: the holder, or the representative who signed for them."""
    role = grant.signature.get("role", "self")
    if role == "self":
        return Actor(role="holder", id=grant.holder_id)
    return Actor(role=role, id=grant.signature.get("representative_id") or grant.holder_id)


@dataclass(frozen=True, slots=True)
class ReceiptEvent:
    """The change this receipt is issued for: the audit action, who made it and when."""

    action: str
    actor: Actor
    at: datetime


def collection_method(grant: ConsentGrant) -> str:
    """Kantara `collectionMethod`: where and how consent was given, "portal:typed_name"."""
    return f"{grant.collection_channel or 'unrecorded'}:{grant.signature['method']}"


def receipt_claims(
    grant: ConsentGrant,
    *,
    receipt_id: str,
    issuer: str,
    operator: Operator,
    jurisdiction: str,
    studio_name: str,
    audit_seq: int,
    issued_at: int,
    holder_assurance: str,
    event: ReceiptEvent,
) -> dict[str, Any]:
    """The receipt payload for the grant's current state (no personal data in clear)."""
    terms = grant.terms
    signature = grant.signature
    method = collection_method(grant)
    withdraw = f"{issuer}/v1/consents/{grant.id}/withdraw"
    until = rfc3339(grant.valid_until)
    return {
        "iss": issuer,
        "sub": grant.holder_id,
        "iat": issued_at,
        "jti": receipt_id,
        "receipt_schema": f"{issuer}{SCHEMA_PATH}",
        # -- Kantara Consent Receipt v1.1 ------------------------------------------------
        "version": KANTARA_VERSION,
        "jurisdiction": jurisdiction or "unknown",
        "consentTimestamp": int(grant.accepted_at.timestamp()),
        "collectionMethod": method,
        "consentReceiptID": receipt_id,
        "language": grant.language,
        "piiPrincipalId": grant.holder_id,
        "piiControllers": [
            {
                "piiController": operator.name,
                "onBehalf": False,
                "contact": operator.contact,
                "address": operator.address,
                "email": operator.email,
                "phone": operator.phone,
                "piiControllerUrl": operator.url,
            }
        ],
        "policyUrl": operator.policy_url,
        "services": [
            {
                "service": terms["project"],
                "purposes": [
                    {
                        "purpose": vocabulary.label(purpose),
                        "purposeCategory": [purpose],
                        "consentType": CONSENT_TYPE,
                        "piiCategory": list(terms["attributes"]),
                        "primaryPurpose": True,
                        "termination": f"ends {until} at the latest; withdrawn at any time with "
                        f"one request: POST {withdraw}",
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": studio_name,
                    }
                    for purpose in terms["purposes"]
                ],
            }
        ],
        "sensitive": True,
        "spiCat": list(SPI_CATEGORIES),
        # -- ISO/IEC TS 27560:2023, values from W3C DPV ---------------------------------
        "iso27560": _iso_27560(
            grant,
            issuer=issuer,
            operator=operator,
            jurisdiction=jurisdiction,
            studio_name=studio_name,
            method=method,
            withdraw=withdraw,
            audit_seq=audit_seq,
            event=event,
        ),
        # -- the registry's own record ---------------------------------------------------
        "purposes": terms["purposes"],
        "attributes": terms["attributes"],
        "territories": terms["territories"],
        "media": terms["media"],
        "prohibited_uses": terms["prohibited_uses"],
        # Each separate choice the request offered and the holder's answer, and the hash that
        # bound the notice and these answers when the holder signed (None: nothing offered).
        "choices": grant.choices or [],
        "choices_sha256": grant.choices_sha256,
        "notice": {
            "sha256": grant.notice_sha256,
            "template_version": grant.notice_template_version,
            "served_at": rfc3339(grant.notice_served_at),
        },
        "consent_state": grant.status,
        "state_changed_at": rfc3339(grant.status_changed_at),
        "valid_from": rfc3339(grant.valid_from),
        "valid_until": until,
        "signature": {
            "role": signature["role"],
            "method": signature["method"],
            "signed_at": signature["signed_at"],
            "evidence_hash": signature["evidence_hash"],
        },
        "audit_seq": audit_seq,
        # The holder's identity assurance when this receipt was issued (docs/verification.md).
        "holder_assurance": holder_assurance,
    }


def _iso_27560(
    grant: ConsentGrant,
    *,
    issuer: str,
    operator: Operator,
    jurisdiction: str,
    studio_name: str,
    method: str,
    withdraw: str,
    audit_seq: int,
    event: ReceiptEvent,
) -> dict[str, Any]:
    """The ISO/IEC TS 27560 consent record of the grant, its values as DPV terms."""
    terms = grant.terms
    validity = {"dpv": "dpv:UntilTimeDuration", "until": rfc3339(grant.valid_until)}
    given: dict[str, Any] = {
        "event_time": rfc3339(grant.accepted_at),
        "event_type": DPV_CONSENT_TYPE,
        "event_state": "dpv:ConsentGiven",
        "event_by": signer_of(grant).as_claim(),
        "validity_duration": validity,
        "expression_method": method,
        "action": GRANTED,
    }
    events = [given]
    if event.action == GRANTED:
        given["audit_seq"] = audit_seq
    else:
        events.append(
            {
                "event_time": rfc3339(event.at),
                "event_type": DPV_CONSENT_TYPE,
                "event_state": DPV_STATE[grant.status],
                "event_by": event.actor.as_claim(),
                "validity_duration": validity,
                "action": event.action,
                "audit_seq": audit_seq,
            }
        )
    where = operator.storage_location
    return {
        "prefixes": PREFIXES,
        "schema_version": ISO_27560_SCHEMA,
        "record_id": grant.id,
        "request_id": grant.request_id,
        "pii_principal_id": grant.holder_id,
        "language": grant.language,
        "privacy_notice": {
            "sha256": grant.notice_sha256,
            "template_version": grant.notice_template_version,
            "served_at": rfc3339(grant.notice_served_at),
        },
        "purposes": terms["purposes"],
        "lawful_basis": LAWFUL_BASIS,
        "pii_information": terms["attributes"],
        "sensitive_pii_category": ["pd:Biometric"],
        "special_pii_category": "dpv:SpecialCategoryPersonalData",
        "pii_controllers": [operator.name],
        "collection_method": method,
        "storage_locations": [
            {"store": "registry database", "location": where},
            {"store": "key store (holders' data keys)", "location": where},
            {"store": f"reference-data vault ({operator.vault})", "location": where},
        ],
        "retention_period": [
            {
                "data": "verification evidence of a decided case",
                "period": f"P{operator.evidence_retention_days}D",
                "from": "the decision",
            },
            {
                "data": "verification evidence of a case nobody decided",
                "period": f"P{operator.pending_evidence_retention_days}D",
                "from": "the upload",
            },
            {
                "data": "records of uses made under this consent",
                "period": f"P{operator.usage_retention_days}D",
                "from": "the recording",
            },
        ],
        "record_retention": RECORD_RETENTION,
        "processing_locations": terms["territories"],
        "jurisdiction": jurisdiction or "unknown",
        "recipient_third_parties": [
            {"id": grant.studio_id, "name": studio_name, "role": "grantee", "dpv": "dpv:ThirdParty"}
        ],
        "withdrawal_method": {
            "api": f"POST {withdraw}",
            "portal": f"{issuer}/portal/consents/{grant.id}",
            "description": "one request, no reason needed; takes effect at once",
        },
        "consent_status": DPV_STATE[grant.status],
        "events": events,
    }


def issue_receipt(
    session: Session,
    *,
    signer: Signer,
    grant: ConsentGrant,
    receipt_id: str,
    jurisdiction: str,
    studio_name: str,
    audit_seq: int,
    event: ReceiptEvent,
) -> ConsentReceipt:
    """Sign and store a receipt for the grant's current state after `event`."""
    now = utcnow()
    claims = receipt_claims(
        grant,
        receipt_id=receipt_id,
        issuer=signer.issuer,
        operator=signer.operator,
        jurisdiction=jurisdiction,
        studio_name=studio_name,
        audit_seq=audit_seq,
        issued_at=int(now.timestamp()),
        holder_assurance=verification.assurance_of(session, grant.holder_id).value,
        event=event,
    )
    row = ConsentReceipt(
        id=receipt_id,
        grant_id=grant.id,
        consent_state=grant.status,
        audit_seq=audit_seq,
        token=signer.sign(session, claims, typ=RECEIPT_TYP),
        issued_at=now,
    )
    repository.add(session, row)
    return row


def new_receipt_id() -> str:
    return new_id("rcp")


@cache
@cache
def receipt_schema() -> dict[str, Any]:
    """The receipt's JSON Schema (draft 2020-12), shipped beside this module, read once (a
    caller copies before changing it)."""
    text = files("consent_service.consents").joinpath("receipt.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
