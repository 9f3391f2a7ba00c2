"""Consent receipts: signed (ES256 compact JWS) records of a grant's state, for the holder.

Fields follow the Kantara Consent Receipt Specification v1.1 and ISO/IEC TS 27560 (record id,
schema version, language, jurisdiction, collection method, controller, recipients, purposes,
PII categories, notice, consent state and times, withdrawal method, retention), plus
`audit_seq`: the sequence number of the audit event that recorded the change, so the holder can
ask for that event's inclusion proof in the audit log's Merkle tree.

A receipt verifies with nothing but the JWKS at `/.well-known/jwks.json` (any JOSE library).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from consent_service.consents import repository
from consent_service.consents.models import ConsentGrant, ConsentReceipt
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.ids import new_id
from consent_service.verification import service as verification

RECEIPT_TYP = "consent-receipt+jwt"
KANTARA_VERSION = "KI-CR-v1.1.0"
SCHEMA_VERSION = "consent_service/receipt/1 (Kantara CR v1.1, ISO/IEC TS 27560)"
RETENTION = (
    "The grant, its evidence and its receipts are kept for as long as the registry operates, "
    "so that uses can be checked against them; personal fields are encrypted and destroyed by "
    "key deletion on erasure."
)


def receipt_claims(
    grant: ConsentGrant,
    *,
    receipt_id: str,
    issuer: str,
    jurisdiction: str,
    studio_name: str,
    audit_seq: int,
    issued_at: int,
    holder_assurance: str,
) -> dict[str, Any]:
    """The receipt payload for the grant's current state (no personal data in clear)."""
    terms = grant.terms
    signature = grant.signature
    return {
        "iss": issuer,
        "sub": grant.holder_id,
        "iat": issued_at,
        "jti": receipt_id,
        "version": KANTARA_VERSION,
        "schema_version": SCHEMA_VERSION,
        "receipt_id": receipt_id,
        "record_id": grant.id,
        "request_id": grant.request_id,
        "language": grant.language,
        "jurisdiction": jurisdiction,
        "consent_timestamp": rfc3339(grant.accepted_at),
        "collection_method": f"api:{signature['method']}",
        "pii_principal_id": grant.holder_id,
        "pii_controllers": [{"pii_controller": "consent_service registry operator", "url": issuer}],
        "recipients": [{"id": grant.studio_id, "name": studio_name, "role": "grantee"}],
        "services": [
            {
                "service": terms["project"],
                "purposes": [
                    {
                        "purpose": purpose,
                        "consent_type": "EXPLICIT",
                        "pii_category": terms["attributes"],
                        "termination": rfc3339(grant.valid_until),
                        "third_party_disclosure": True,
                        "third_party_name": studio_name,
                    }
                    for purpose in terms["purposes"]
                ],
            }
        ],
        "purposes": terms["purposes"],
        "attributes": terms["attributes"],
        "territories": terms["territories"],
        "media": terms["media"],
        "prohibited_uses": terms["prohibited_uses"],
        "sensitive": True,
        "spi_cat": ["biometric likeness"],
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
        "valid_until": rfc3339(grant.valid_until),
        "signature": {
            "role": signature["role"],
            "method": signature["method"],
            "signed_at": signature["signed_at"],
            "evidence_hash": signature["evidence_hash"],
        },
        "withdrawal_method": {
            "api": f"POST {issuer}/v1/consents/{grant.id}/withdraw",
            "description": "one request, no reason needed; takes effect at once",
        },
        "retention": RETENTION,
        "audit_seq": audit_seq,
        # The holder's identity assurance when this receipt was issued (docs/verification.md).
        "holder_assurance": holder_assurance,
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
) -> ConsentReceipt:
    """Sign and store a receipt for the grant's current state."""
    now = utcnow()
    claims = receipt_claims(
        grant,
        receipt_id=receipt_id,
        issuer=signer.issuer,
        jurisdiction=jurisdiction,
        studio_name=studio_name,
        audit_seq=audit_seq,
        issued_at=int(now.timestamp()),
        holder_assurance=verification.assurance_of(session, grant.holder_id).value,
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
