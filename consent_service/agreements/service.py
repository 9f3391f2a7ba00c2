"""The registry of collective agreements, and how consent requests name one.

An admin keeps the list (name, union, whether it covers digital replicas, valid dates). A
consent request under union representation names an agreement by its id; the consent rules
then read `covers_replicas` and the valid dates from here, never from the studio's word
(IDENTITY.md "Collective agreements"). Every create and update is an audit event, carrying the
agreement id and the changed field names, with no personal data (an agreement has none).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts.principal import Principal
from consent_service.agreements import repository
from consent_service.agreements.models import CollectiveAgreement
from consent_service.agreements.schemas import AgreementCreate, AgreementUpdate
from consent_service.audit.actions import Action
from consent_service.consents import rules
from consent_service.db import utcnow
from consent_service.errors import DomainError, NotFound
from consent_service.ids import new_id
from consent_service.pagination import Page, decode_cursor


class AgreementNotFound(NotFound):
    code, title = "collective_agreement_not_found", "No such collective agreement"


class AgreementDatesOutOfOrder(DomainError):
    code, status, title = (
        "agreement_dates_out_of_order",
        422,
        "valid_until is before valid_from",
    )


def _check_dates(row: CollectiveAgreement | AgreementCreate) -> None:
    if row.valid_until < row.valid_from:
        raise AgreementDatesOutOfOrder(
            f"valid_until ({row.valid_until.isoformat()}) is before valid_from "
            f"({row.valid_from.isoformat()})",
            field="valid_until",
        )


def create(session: Session, *, admin: Principal, body: AgreementCreate) -> CollectiveAgreement:
    _check_dates(body)
    now = utcnow()
    row = CollectiveAgreement(id=new_id("cag"), created_at=now, updated_at=now, **body.model_dump())
    repository.add(session, row)
    audit.record(
        session,
        actor_id=admin.actor_id,
        action=Action.collective_agreement_created,
        subjects={"agreement_id": row.id},
        payload=_audit_payload(row, changed=sorted(body.model_fields_set)),
    )
    return row


def update(
    session: Session, *, admin: Principal, agreement_id: str, body: AgreementUpdate
) -> CollectiveAgreement:
    row = repository.get_for_update(session, agreement_id)
    if row is None:
        raise AgreementNotFound()
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None and getattr(row, name) != value
    }
    if not changes:
        return row
    for name, value in changes.items():
        setattr(row, name, value)
    _check_dates(row)
    row.updated_at = utcnow()
    repository.add(session, row)
    audit.record(
        session,
        actor_id=admin.actor_id,
        action=Action.collective_agreement_updated,
        subjects={"agreement_id": row.id},
        payload=_audit_payload(row, changed=sorted(changes)),
    )
    return row


def _audit_payload(row: CollectiveAgreement, *, changed: list[str]) -> dict[str, Any]:
    # What the rules act on (cover and dates) and which fields changed; the names stay in the
    # table, so the log carries ids and facts only.
    return {
        "changed": changed,
        "covers_replicas": row.covers_replicas,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(),
    }


def get(session: Session, agreement_id: str) -> CollectiveAgreement:
    row = repository.get(session, agreement_id)
    if row is None:
        raise AgreementNotFound()
    return row


def list_page(session: Session, *, cursor: str | None, limit: int) -> Page[CollectiveAgreement]:
    rows = repository.page(session, after=decode_cursor(cursor), limit=limit + 1)
    return Page.from_rows(rows, limit)


# -- what the consent rules need -----------------------------------------------------------------


def facts(row: CollectiveAgreement) -> rules.CollectiveAgreement:
    return rules.CollectiveAgreement(
        id=row.id,
        name=row.name,
        union=row.union,
        covers_replicas=row.covers_replicas,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def named_by(session: Session, terms: dict[str, Any]) -> rules.CollectiveAgreement | None:
    """The registry's record of the agreement the terms name (union representation), if any."""
    representation = terms.get("representation") or {}
    agreement_id = representation.get("agreement_id")
    if representation.get("kind") != "union" or not isinstance(agreement_id, str):
        return None
    row = repository.get(session, agreement_id)
    return facts(row) if row is not None else None


def with_agreement(
    terms: dict[str, Any], agreement: rules.CollectiveAgreement | None
) -> dict[str, Any]:
    """The terms with the named agreement's name, union and cover copied in from the registry.

    Stored with the request, so the notice (which prints the agreement's name) renders from
    the terms alone, byte for byte, and the grant says which agreement it was made under.
    """
    if agreement is None:
        return terms
    representation = {
        **terms["representation"],
        "agreement": {
            "name": agreement.name,
            "union": agreement.union,
            "covers_replicas": agreement.covers_replicas,
        },
    }
    return {**terms, "representation": representation}
