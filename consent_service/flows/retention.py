"""The retention schedule, applied: verification evidence and usages past their period go, the
audit log stays whole (docs/operations.md, "Retention"; docs/auditors.md).

Three settings make the schedule:

- `evidence_retention_days` (30): evidence of a decided case (approved, rejected, withdrawn)
  is deleted that long after the decision. Identity documents go at the decision already.
- `pending_evidence_retention_days` (365, at most 1095 = BIPA's 3 years): evidence of a case
  nobody decided is deleted that long after it was uploaded.
- `usage_retention_days` (2190): usage rows are deleted that long after they were recorded.

"Deleted" means: the evidence object leaves storage (after the commit), its row forgets the
key that decrypted it, and the case forgets the reviewer's reason and any identifying details
(document number digits, dates); a usage row is removed. The audit events that recorded them
are never touched, so every checkpoint and proof stays valid, and one `retention.applied`
event records what went (case ids and counts, nothing personal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from consent_service import audit
from consent_service.audit.actions import Action
from consent_service.config import Settings
from consent_service.db import rfc3339, utcnow
from consent_service.usages import service as usages
from consent_service.vault.storage import Storage
from consent_service.verification import service as verification


@dataclass(frozen=True, slots=True)
class RetentionResult:
    evidence_decided_before: datetime
    evidence_uploaded_before: datetime
    usages_recorded_before: datetime
    case_ids: list[str]
    evidence_objects: int
    usages: int
    dry_run: bool


def apply(
    session: Session,
    *,
    settings: Settings,
    storage: Storage,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Apply the schedule in the caller's transaction (nothing changes with `dry_run`)."""
    now = now or utcnow()
    decided_before = now - timedelta(days=settings.evidence_retention_days)
    uploaded_before = now - timedelta(days=settings.pending_evidence_retention_days)
    usages_before = now - timedelta(days=settings.usage_retention_days)
    evidence = verification.apply_evidence_retention(
        session,
        storage=storage,
        decided_before=decided_before,
        uploaded_before=uploaded_before,
        dry_run=dry_run,
    )
    gone = usages.forget_usages_recorded_before(session, usages_before, dry_run=dry_run)
    result = RetentionResult(
        evidence_decided_before=decided_before,
        evidence_uploaded_before=uploaded_before,
        usages_recorded_before=usages_before,
        case_ids=evidence.case_ids,
        evidence_objects=evidence.objects_deleted,
        usages=gone,
        dry_run=dry_run,
    )
    if not dry_run and (evidence.case_ids or gone):
        audit.record(
            session,
            actor_id="operator",
            action=Action.retention_applied,
            subjects={},
            payload={
                "verification_case_ids": evidence.case_ids,
                "evidence_objects": evidence.objects_deleted,
                "usages": gone,
                "evidence_decided_before": rfc3339(decided_before),
                "evidence_uploaded_before": rfc3339(uploaded_before),
                "usages_recorded_before": rfc3339(usages_before),
            },
        )
    return result
