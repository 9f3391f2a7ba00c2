"""Studio access to references: which active licence covers an attribute of a holder.

Until licences exist on this branch, no studio reads any reference.
"""

from __future__ import annotations

from sqlmodel import Session


def active_licence_for_attribute(
    session: Session, studio_id: str, holder_id: str, attribute: str
) -> str | None:
    return None
