"""Usages: what a studio generated under a licence, checked, logged and receipted.

`record_usages` takes one usage or a batch of up to 1,000 and works in three steps, all in the
caller's transaction:

1. Lock the licence (with its grant, as issuance does) and check every entry against it with
   the licence verifier's checks (`licences.use_failure`: term at the usage's time, status now,
   scope). The first entry that fails refuses the whole batch, named by its index, before
   anything is written.
2. Append one audit event per usage (`usage.recorded`) in one batched append: consecutive,
   gap-free sequence numbers, each event hashed as the Merkle tree needs it.
3. Insert the usage rows in one statement and sign one receipt per usage (`usage-receipt+jwt`:
   licence id, output hash, use, `audit_seq`), which a studio can embed in the file (C2PA).

Because the licence row stays locked until the commit, a withdrawal racing a batch either
commits first (the batch then sees the licence revoked and records nothing) or waits for the
batch to commit: no usage is accepted after a withdrawal has committed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from consent_service.accounts import auditors
from consent_service.accounts.principal import Principal, Role
from consent_service.audit import service as audit
from consent_service.audit.actions import Action
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.errors import RuleViolation, ValidationFailed
from consent_service.ids import new_id
from consent_service.licences import service as licences
from consent_service.licences import verifier
from consent_service.licences.models import Licence
from consent_service.usages import repository
from consent_service.usages.models import Usage
from consent_service.usages.schemas import UsageIn

USAGE_RECEIPT_TYP = "usage-receipt+jwt"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class OutputHashInvalid(ValidationFailed):
    code, title = "output_hash_invalid", "An output hash is not a SHA-256 (64 hex characters)"


class UsageInFuture(ValidationFailed):
    code, title = "usage_in_future", "A usage is dated in the future"


class UsageNotAllowed(RuleViolation):
    """The licence did not allow a usage; `verdict` is the licence verifier's code."""

    code, title = "usage_not_allowed", "The licence does not allow this usage"


@dataclass(frozen=True, slots=True)
class RecordedUsage:
    row: dict[str, Any]  # the columns of the inserted `Usage` row
    receipt: str


def _checked_entries(
    licence: Licence, usages: Sequence[UsageIn], now: datetime
) -> list[tuple[str, datetime]]:
    """(lower-case output hash, time) of each entry, or the error naming the first bad one."""
    latest = now + timedelta(seconds=verifier.CLOCK_SKEW_SECONDS)
    checked = []
    # The answer depends only on the licence (locked: it cannot change meanwhile), the use
    # and its time; a render farm's batch repeats a handful of those a thousand times.
    answers: dict[verifier.ProposedUse, tuple[str, str] | None] = {}
    for index, usage in enumerate(usages):
        if _SHA256_HEX.fullmatch(usage.output_sha256) is None:
            raise OutputHashInvalid(
                f"usages[{index}].output_sha256 must be 64 hex characters", index=index
            )
        at = now if usage.at is None else usage.at
        if at > latest:
            raise UsageInFuture(f"usages[{index}] is dated after now", index=index)
        use = verifier.ProposedUse(
            attribute=usage.use.attribute,
            purpose=usage.use.purpose,
            territory=usage.use.territory,
            medium=usage.use.medium,
            at=at,
        )
        if use not in answers:
            answers[use] = licences.use_failure(licence, use, now=now)
        failed = answers[use]
        if failed is not None:
            code, detail = failed
            raise UsageNotAllowed(
                f"usages[{index}]: {detail} ({code}); nothing was recorded",
                index=index,
                verdict=code,
            )
        checked.append((usage.output_sha256.lower(), at))
    return checked


def record_usages(
    *,
    session: Session,
    signer: Signer,
    studio: Principal,
    licence_id: str,
    usages: Sequence[UsageIn],
) -> list[RecordedUsage]:
    """Record a batch of usages under the studio's licence (see the module docstring)."""
    # 1. The licence, locked with its grant; every entry checked before anything is written.
    licence = licences.licence_for_recording(session, studio=studio, licence_id=licence_id)
    now = utcnow()
    checked = _checked_entries(licence, usages, now)
    subjects = {
        "holder_id": licence.holder_id,
        "consent_id": licence.consent_id,
        "licence_id": licence.id,
        "studio_id": licence.studio_id,
    }
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for usage, (output_sha256, at) in zip(usages, checked, strict=True):
        use = {
            "attribute": usage.use.attribute,
            "purpose": usage.use.purpose,
            "territory": usage.use.territory,
            "medium": usage.use.medium,
        }
        usage_id = new_id("usg")
        row: dict[str, Any] = {
            "id": usage_id,
            "licence_id": licence.id,
            "consent_id": licence.consent_id,
            "holder_id": licence.holder_id,
            "studio_id": licence.studio_id,
            "output_sha256": output_sha256,
            "media_type": usage.media_type,
            "duration_ms": usage.duration_ms,
            "width": usage.width,
            "height": usage.height,
            **use,
            "tool_name": usage.tool.name,
            "tool_version": usage.tool.version,
            "used_at": at,
            "created_at": now,
        }
        rows.append(row)
        payload: dict[str, Any] = {
            "output_sha256": output_sha256,
            "media_type": usage.media_type,
            "use": use,
            # Flat: the audit guard refuses a `name` key anywhere (it would name a person).
            "tool_name": usage.tool.name,
            "tool_version": usage.tool.version,
            "used_at": rfc3339(at),
        }
        for size in ("duration_ms", "width", "height"):
            if row[size] is not None:
                payload[size] = row[size]
        events.append(
            {
                "actor_id": studio.actor_id,
                "action": Action.usage_recorded,
                "subjects": {**subjects, "usage_id": usage_id},
                "payload": payload,
            }
        )
    # 2. One audit event per usage, appended at once: consecutive sequence numbers.
    first_seq = audit.record_many(session, events)
    # 3. The rows, then one signed receipt per usage naming its audit event.
    claims = []
    for offset, row in enumerate(rows):
        row["audit_seq"] = first_seq + offset
        claims.append(
            {
                "iss": signer.issuer,
                "iat": int(now.timestamp()),
                "jti": row["id"],
                "licence": licence.id,
                "consent": licence.consent_id,
                "studio": licence.studio_id,
                "output_sha256": row["output_sha256"],
                "media_type": row["media_type"],
                "use": events[offset]["payload"]["use"],
                "used_at": int(row["used_at"].timestamp()),
                "audit_seq": row["audit_seq"],
            }
        )
    repository.add_many(session, rows)
    receipts = signer.sign_many(session, claims, typ=USAGE_RECEIPT_TYP)
    return [RecordedUsage(row=row, receipt=r) for row, r in zip(rows, receipts, strict=True)]


# -- reading ----------------------------------------------------------------------------------
def usages_of_licence(
    *,
    session: Session,
    principal: Principal,
    licence_id: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Usage]:
    """Usages under a licence: its studio's, its holder's, or any for an auditor or admin."""
    if principal.role is Role.auditor:
        if not licences.licence_exists(session, licence_id):
            raise licences.LicenceNotFound()
    else:
        # The studio's own or the holder's own licence, else 404 (licences' visibility rule).
        licences.get_licence(session=session, principal=principal, licence_id=licence_id)
    rows = repository.list_visible(
        session, licence_id=licence_id, holder_id=None, studio_id=None, after=after, limit=limit
    )
    # Callers ask for one row more than they show (to know if a next page exists).
    shown = rows[: limit - 1] if len(rows) == limit else rows
    auditors.note_read(session, principal, "usage", [u.id for u in shown])
    return rows


def usages_of_holder(
    *,
    session: Session,
    holder_id: str,
    licence_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    consent_id: str | None = None,
) -> Sequence[Usage]:
    """Usages of one holder's likeness (the holder's own view, API and portal), newest first."""
    return repository.list_visible(
        session,
        licence_id=licence_id,
        holder_id=holder_id,
        studio_id=None,
        after=after,
        limit=limit,
        consent_id=consent_id,
    )


def usage_document(usage: Usage) -> dict[str, Any]:
    """One usage as JSON-ready data (the holder's export)."""
    return {
        "id": usage.id,
        "licence_id": usage.licence_id,
        "consent_id": usage.consent_id,
        "studio_id": usage.studio_id,
        "output_sha256": usage.output_sha256,
        "media_type": usage.media_type,
        "duration_ms": usage.duration_ms,
        "width": usage.width,
        "height": usage.height,
        "use": {
            "attribute": usage.attribute,
            "purpose": usage.purpose,
            "territory": usage.territory,
            "medium": usage.medium,
        },
        "tool": {"name": usage.tool_name, "version": usage.tool_version},
        "used_at": rfc3339(usage.used_at),
        "recorded_at": rfc3339(usage.created_at),
        "audit_seq": usage.audit_seq,
    }


def usages_of_holder_document(session: Session, holder_id: str) -> list[dict[str, Any]]:
    """Every usage of the holder's likeness, in the order recorded (the holder's export)."""
    return [usage_document(u) for u in repository.of_holder(session, holder_id)]


# -- retention (flows/retention.py) ------------------------------------------------------------


def forget_usages_recorded_before(session: Session, before: datetime, *, dry_run: bool) -> int:
    """Delete usage rows past their retention period; their `usage.recorded` events stay."""
    if dry_run:
        return repository.count_recorded_before(session, before)
    return repository.delete_recorded_before(session, before)
