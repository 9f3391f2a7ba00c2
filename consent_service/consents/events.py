"""Grant status changes, announced to the parts that depend on a grant (licences, vault access).

The consent service calls `grant_status_changed(...)` inside the same transaction as the change
(withdraw, revoke, suspend, resume, expire). Listeners registered here update what hangs off the
grant (e.g. every licence under it) and return the ids they changed, which the withdrawal
response reports as `revoked_licences`. This keeps `consents` free of imports from `licences`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True, slots=True)
class GrantStatusChange:
    grant_id: str
    holder_id: str
    studio_id: str
    old_status: str
    new_status: str  # "active" | "withdrawn" | "revoked" | "suspended" | "expired"
    actor_id: str
    reason: str | None = None


GrantStatusListener = Callable[[Session, GrantStatusChange], list[str]]
_listeners: list[GrantStatusListener] = []


def on_grant_status_change(listener: GrantStatusListener) -> GrantStatusListener:
    """Register a listener (usable as a decorator); registering twice has no effect."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def grant_status_changed(session: Session, change: GrantStatusChange) -> list[str]:
    """Tell every listener, in the caller's transaction; return all ids they changed."""
    changed: list[str] = []
    for listener in _listeners:
        changed.extend(listener(session, change))
    return changed
