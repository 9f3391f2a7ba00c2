"""What the consent domain holds on one holder, whatever its state (the holder's export).

The rights package asks these instead of querying consent tables itself; the SQL is in
consents/repository.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from consent_service.consents import repository
from consent_service.consents.models import (
    FIXED_REASONS,
    ConsentGrant,
    ConsentReceipt,
    ConsentRequest,
)


def requests(session: Session, holder_id: str) -> Sequence[ConsentRequest]:
    """Every consent request made to the holder, oldest first."""
    return repository.requests_of_holder(session, holder_id)


def grants(session: Session, holder_id: str) -> Sequence[ConsentGrant]:
    """Every grant the holder gave, oldest first."""
    return repository.grants_of_holder(session, holder_id)


def forget_clear_reasons(session: Session, holder_id: str) -> None:
    """Erasure: drop a person's reason still in clear (written before migration 0011); the
    system's fixed causes stay, they say nothing about anyone."""
    for grant in repository.grants_of_holder(session, holder_id):
        if grant.status_reason is not None and grant.status_reason not in FIXED_REASONS:
            grant.status_reason = None
            repository.add(session, grant)


def receipts(session: Session, grant_ids: Sequence[str]) -> Sequence[ConsentReceipt]:
    """Every receipt issued for the grants, in the order issued."""
    return repository.receipts_of_grants(session, grant_ids)


def studio_asked(session: Session, *, studio_id: str, holder_id: str) -> bool:
    """Whether the studio ever asked this holder for consent (what lets it see the holder)."""
    return repository.studio_has_request_or_grant(session, studio_id=studio_id, holder_id=holder_id)


def request_by_id(session: Session, request_id: str) -> ConsentRequest | None:
    return repository.get_request(session, request_id)


def grant_for_update(session: Session, grant_id: str) -> ConsentGrant | None:
    """The grant, its row held until the transaction ends (issuing a licence under it)."""
    return repository.get_grant_for_update(session, grant_id)
