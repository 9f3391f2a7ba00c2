"""The tamper-evident audit log. `audit.record(...)` is the one call every state change makes.

`record` is imported lazily so that the pure parts of this package (`merkle`, `offline`) can
be used by the offline verifier without importing the database layer or the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from consent_service.audit.actions import Action

if TYPE_CHECKING:
    from consent_service.audit.service import record

__all__ = ["Action", "record"]


def __getattr__(name: str) -> Any:
    if name == "record":
        from consent_service.audit.service import record

        return record
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
