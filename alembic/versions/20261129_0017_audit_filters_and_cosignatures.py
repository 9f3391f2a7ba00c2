"""audit_event_subject and audit_cosignature: exact filters on the log, witnessed checkpoints

`audit_event_subject`: one row per id an event names (its `subjects`, and ids listed in its
payload such as `licence_ids`), so the export filters by studio, consent and licence exactly.
Existing events are indexed here from their stored bytes; nothing in `audit_event` changes.

`audit_cosignature`: cosignatures of the log's checkpoints by configured witnesses
(C2SP tlog-cosignature), one per witness and tree size.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 20:10:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def _subject_rows(seq: int, event_json: str) -> list[dict[str, object]]:
    # The same derivation as consent_service.audit.service.subject_rows, frozen here so the
    # migration does not change when the application code does.
    event = json.loads(event_json)
    found: set[tuple[str, str]] = set()
    for kind, ref in (event.get("subjects") or {}).items():
        if isinstance(ref, str) and kind.endswith("_id"):
            found.add((kind, ref))
    for key, value in (event.get("payload") or {}).items():
        if key.endswith("_ids") and isinstance(value, list):
            found.update((key[:-1], v) for v in value if isinstance(v, str))
        elif key.endswith("_id") and isinstance(value, str):
            found.add((key, value))
    return [
        {"kind": k, "ref": r, "seq": seq} for k, r in sorted(found) if len(k) <= 40 and len(r) <= 64
    ]


def upgrade() -> None:
    subject = op.create_table(
        "audit_event_subject",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", "seq", name=op.f("pk_audit_event_subject")),
    )
    op.create_table(
        "audit_cosignature",
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature_line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("witness", "tree_size", name=op.f("pk_audit_cosignature")),
    )
    # Index the events already in the log, in batches (constant memory at any size).
    bind = op.get_bind()
    event = sa.table(
        "audit_event", sa.column("seq", sa.BigInteger()), sa.column("event_json", sa.Text())
    )
    after = -1
    while True:
        rows = bind.execute(
            sa.select(event.c.seq, event.c.event_json)
            .where(event.c.seq > after)
            .order_by(event.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        after = int(rows[-1][0])
        batch = [r for seq, doc in rows for r in _subject_rows(int(seq), doc)]
        if batch:
            bind.execute(sa.insert(subject), batch)


def downgrade() -> None:
    op.drop_table("audit_cosignature")
    op.drop_table("audit_event_subject")
