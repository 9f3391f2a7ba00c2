"""What the consent domain holds on one holder, whatever its state (the holder's export).

The rights package asks these instead of querying consent tables itself; the SQL is in
consents/repository.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from consent_service.consents import repository
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest


def requests(session: Session, holder_id: str) -> Sequence[ConsentRequest]:
    """Every consent request made to the holder, oldest first."""
    return repository.requests_of_holder(session, holder_id)


def grants(session: Session, holder_id: str) -> Sequence[ConsentGrant]:
    """Every grant the holder gave, oldest first."""
    return repository.grants_of_holder(session, holder_id)


def receipts(session: Session, grant_ids: Sequence[str]) -> Sequence[ConsentReceipt]:
    """Every receipt issued for the grants, in the order issued."""
    return repository.receipts_of_grants(session, grant_ids)
