"""Grant status changes, announced to the parts that depend on a grant (licences today).

The consent service calls `grant_status_changed(session, change)` inside the same transaction
as the change (withdraw, revoke, suspend, resume, expire, end by death). The listeners update
what hangs off the grant (licences' `cascade_grant_status` moves every licence under it) and
return the ids they changed, which the withdrawal response reports as `revoked_licences`. This keeps
`consents` free of imports from `licences`.

Nothing registers itself here. The composition root (`consent_service/wiring.py`) chooses the
listeners and binds them to every session it opens (`bind_listeners`, kept in `session.info`);
a session that was not opened through it has none, and announcing a change on it is an error
rather than a silent skip of the cascade.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session


@dataclass(frozen=True, slots=True)
class GrantStatusChange:
    grant_id: str
    holder_id: str
    studio_id: str
    old_status: str
    # "active" | "withdrawn" | "revoked" | "suspended" | "expired" | "ended_by_death"
    new_status: str
    actor_id: str
    reason: str | None = None


GrantStatusListener = Callable[[Session, GrantStatusChange], list[str]]

_INFO_KEY = "consent_service.grant_listeners"


class ListenersNotBound(RuntimeError):
    """A grant changed on a session that the composition root did not open."""


def bind_listeners(
    info: MutableMapping[Any, Any], listeners: tuple[GrantStatusListener, ...]
) -> None:
    """Make `listeners` the ones told of changes made through the session owning `info`."""
    info[_INFO_KEY] = tuple(listeners)


def grant_status_changed(session: Session, change: GrantStatusChange) -> list[str]:
    """Tell every bound listener, in the caller's transaction; return all ids they changed."""
    listeners: tuple[GrantStatusListener, ...] | None = session.info.get(_INFO_KEY)
    if listeners is None:
        raise ListenersNotBound(
            "this session has no grant listeners: open it with Services.session()"
        )
    changed: list[str] = []
    for listener in listeners:
        changed.extend(listener(session, change))
    return changed
