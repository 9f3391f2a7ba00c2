"""The tamper-evident audit log. `audit.record(...)` is the one call every state change makes."""

from consent_service.audit.service import record

__all__ = ["record"]
