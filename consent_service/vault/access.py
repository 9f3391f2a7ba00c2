"""Studio access to references: the active licence that covers an attribute of a holder.

The licences package has no such query, so the vault reads the licence table itself (SQL in
vault/repository.py). A licence covers a read when it is active now (status `active`, inside
its validity window), its grant is still active, and its scope lists the attribute.
"""

from __future__ import annotations

from sqlmodel import Session

from consent_service.db import utcnow
from consent_service.vault import repository


def active_licence_for_attribute(
    session: Session, studio_id: str, holder_id: str, attribute: str
) -> str | None:
    """The id of a licence letting `studio_id` read `attribute` of `holder_id`, or None."""
    now = utcnow()
    for licence in repository.active_licences_of_studio_for_holder(
        session, studio_id=studio_id, holder_id=holder_id, now=now
    ):
        attributes = (licence.scope or {}).get("attributes") or []
        if attribute in attributes:
            return licence.id
    return None
