"""All SQL about the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from consent_service.audit.models import (
    AuditCosignature,
    AuditEvent,
    AuditEventSubject,
    AuditHead,
    AuditSignedCheckpoint,
    AuditSubtree,
)
from consent_service.db import bulk_insert

_head_table = AuditHead.__table__  # type: ignore[attr-defined]
# Built once: appends are the hot path (every state change makes one).
_TAKE_NEXT_SEQ = (
    sa.update(_head_table)
    .where(_head_table.c.id == 1)
    .values(next_seq=_head_table.c.next_seq + sa.bindparam("count", type_=sa.BigInteger))
    .returning(_head_table.c.next_seq)
)
_INSERT_EVENT = sa.insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_named = AuditEventSubject.__table__  # type: ignore[attr-defined]
_INSERT_NAMED = sa.insert(_named)


def take_next_seq(session: Session, count: int = 1) -> int:
    """Hand out the next `count` sequence numbers (returns the first); the head row stays
    locked until the transaction ends.

    One statement (`UPDATE ... RETURNING`): it takes the row lock, so concurrent appenders
    queue in commit order, and a rollback gives the number back. Costs the same at any size.
    """
    value = session.connection().execute(_TAKE_NEXT_SEQ, {"count": count}).scalar_one_or_none()
    if value is None:
        raise RuntimeError("audit_head row missing: the database was not migrated")
    return int(value) - count


def add_events(session: Session, rows: list[dict[str, Any]], named: list[dict[str, Any]]) -> None:
    """Insert events and the ids they name (Core: rows are never loaded or changed through
    the ORM); a batch goes in with one COPY on PostgreSQL (db.bulk_insert)."""
    connection = session.connection()
    if len(rows) == 1:
        connection.execute(_INSERT_EVENT, rows)
    else:
        bulk_insert(session, _event, rows)
    if len(named) == 1:
        connection.execute(_INSERT_NAMED, named)
    elif named:
        bulk_insert(session, _named, named)


def events_after(session: Session, *, after: int, limit: int) -> Sequence[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(col(AuditEvent.seq) > after)
        .order_by(col(AuditEvent.seq))
        .limit(limit)
    )
    return session.exec(stmt).all()


def events_for_holder(session: Session, holder_id: str) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.holder_id == holder_id).order_by(col(AuditEvent.seq))
    return session.exec(stmt).all()


# -- tree heads, proofs and exports -------------------------------------------------------------
# These read only committed rows: every event with seq < audit_head.next_seq is committed, because
# the head row and the event are written in the same transaction, under the head's row lock.

_event = AuditEvent.__table__  # type: ignore[attr-defined]
_subtree = AuditSubtree.__table__  # type: ignore[attr-defined]


def committed_size(session: Session) -> int:
    """The number of committed events (the next sequence number), without locking the head."""
    value = session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()
    return int(value)


def leaf_hashes(session: Session, start: int, end: int) -> list[bytes]:
    """Leaf hashes of the events start .. end-1, in order."""
    stmt = (
        sa.select(_event.c.leaf_hash)
        .where(_event.c.seq >= start, _event.c.seq < end)
        .order_by(_event.c.seq)
    )
    return [bytes.fromhex(h) for h in session.execute(stmt).scalars()]


def _dialect_insert(session: Session) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    insert: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def subtree_count(session: Session) -> int:
    """How many subtree hashes are cached (they are written in order from index 0)."""
    value = session.execute(sa.select(sa.func.max(_subtree.c.subtree_index))).scalar()
    return 0 if value is None else int(value) + 1


def subtree_hashes(session: Session, count: int) -> list[bytes]:
    """The cached subtree hashes with index < count, in order."""
    stmt = (
        sa.select(_subtree.c.root_hash)
        .where(_subtree.c.subtree_index < count)
        .order_by(_subtree.c.subtree_index)
    )
    return [bytes.fromhex(h) for h in session.execute(stmt).scalars()]


def add_subtree_hashes(session: Session, first_index: int, hashes: Sequence[bytes]) -> None:
    """Cache subtree hashes; a concurrent reader may have written the same ones first."""
    if not hashes:
        return
    rows = [{"subtree_index": first_index + i, "root_hash": h.hex()} for i, h in enumerate(hashes)]
    insert = _dialect_insert(session)
    session.execute(insert(_subtree).values(rows).on_conflict_do_nothing())


def event_by_seq(session: Session, seq: int) -> AuditEvent | None:
    return session.get(AuditEvent, seq)


def event_lines_between(session: Session, start: int, end: int) -> list[tuple[int, str, str]]:
    """(seq, leaf_hash, event_json) of the events start .. end-1, in order."""
    stmt = (
        sa.select(_event.c.seq, _event.c.leaf_hash, _event.c.event_json)
        .where(_event.c.seq >= start, _event.c.seq < end)
        .order_by(_event.c.seq)
    )
    return [(int(s), h, e) for s, h, e in session.execute(stmt)]


def filtered_event_lines(
    session: Session,
    *,
    after: int,
    below: int,
    limit: int,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    holder_id: str | None,
    action: str | None,
    named: Sequence[tuple[str, str]] = (),
) -> list[tuple[int, str, str]]:
    """(seq, leaf_hash, event_json) of matching events with after < seq < below, by seq.

    `named`: (kind, id) pairs such as ("licence_id", "lic_…"); an event matches when it names
    every one of them (audit_event_subject)."""
    stmt = sa.select(_event.c.seq, _event.c.leaf_hash, _event.c.event_json)
    order: Any = _event.c.seq
    if named:
        # Driven by the first id's range of the (kind, ref, seq) key: a rare licence is found
        # without walking the whole log.
        kind, ref = named[0]
        stmt = stmt.join(_named, _named.c.seq == _event.c.seq).where(
            _named.c.kind == kind, _named.c.ref == ref, _named.c.seq > after
        )
        named = named[1:]
        order = _named.c.seq  # the same value, read in the key's order
    stmt = stmt.where(_event.c.seq > after, _event.c.seq < below)
    if occurred_from is not None:
        stmt = stmt.where(_event.c.occurred_at >= occurred_from)
    if occurred_to is not None:
        stmt = stmt.where(_event.c.occurred_at < occurred_to)
    if holder_id is not None:
        stmt = stmt.where(_event.c.holder_id == holder_id)
    if action is not None:
        stmt = stmt.where(_event.c.action == action)
    for kind, ref in named:
        stmt = stmt.where(
            sa.exists().where(
                _named.c.kind == kind, _named.c.ref == ref, _named.c.seq == _event.c.seq
            )
        )
    stmt = stmt.order_by(order).limit(limit)
    return [(int(s), h, e) for s, h, e in session.execute(stmt)]


# -- witnesses' cosignatures --------------------------------------------------------------------
_cosignature = AuditCosignature.__table__  # type: ignore[attr-defined]


def cosignatures_at(session: Session, tree_size: int) -> Sequence[AuditCosignature]:
    stmt = (
        select(AuditCosignature)
        .where(AuditCosignature.tree_size == tree_size)
        .order_by(col(AuditCosignature.witness))
    )
    return session.exec(stmt).all()


def put_cosignature(session: Session, **values: Any) -> None:
    """Keep a witness's cosignature of one tree size; a newer one replaces the older (one
    statement, so two witnesses' or two copies' requests at once do not collide)."""
    statement = _dialect_insert(session)(_cosignature).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[_cosignature.c.witness, _cosignature.c.tree_size],
            set_={
                name: statement.excluded[name]
                for name in ("root_hash", "cosigned_at", "signature_line", "received_at")
            },
        )
    )


# -- the tree heads the registry signed ----------------------------------------------------------
_signed = AuditSignedCheckpoint.__table__  # type: ignore[attr-defined]


def signed_checkpoint_kept(session: Session, tree_size: int) -> bool:
    stmt = sa.select(_signed.c.tree_size).where(_signed.c.tree_size == tree_size)
    return session.execute(stmt).first() is not None


def keep_signed_checkpoint(session: Session, **values: Any) -> None:
    """Keep a signed tree head unless one of its size is kept already (insert-or-ignore on the
    primary key: concurrent first signers of one size leave one row, the first committed)."""
    insert = _dialect_insert(session)
    session.execute(insert(_signed).values(**values).on_conflict_do_nothing())


def signed_checkpoints(
    session: Session, *, after: int | None, before: int | None, limit: int
) -> Sequence[AuditSignedCheckpoint]:
    """Kept tree heads: with `after`, sizes > after in ascending order; else newest first,
    sizes < `before` when given."""
    stmt = select(AuditSignedCheckpoint)
    size = col(AuditSignedCheckpoint.tree_size)
    if after is not None:
        stmt = stmt.where(size > after).order_by(size)
    else:
        if before is not None:
            stmt = stmt.where(size < before)
        stmt = stmt.order_by(size.desc())
    return session.exec(stmt.limit(limit)).all()


def signed_checkpoint_at(session: Session, tree_size: int) -> AuditSignedCheckpoint | None:
    return session.get(AuditSignedCheckpoint, tree_size)


def signed_checkpoint_before(session: Session, tree_size: int) -> AuditSignedCheckpoint | None:
    """The kept tree head just below `tree_size`, if any."""
    size = col(AuditSignedCheckpoint.tree_size)
    stmt = select(AuditSignedCheckpoint).where(size < tree_size).order_by(size.desc()).limit(1)
    return session.exec(stmt).first()


def cosignatures_of(session: Session, sizes: Sequence[int]) -> Sequence[AuditCosignature]:
    """The cosignatures of the given tree sizes, by size then witness."""
    if not sizes:
        return []
    stmt = (
        select(AuditCosignature)
        .where(col(AuditCosignature.tree_size).in_(list(sizes)))
        .order_by(col(AuditCosignature.tree_size), col(AuditCosignature.witness))
    )
    return session.exec(stmt).all()


def events_per_day(
    session: Session, *, actions: Sequence[str], since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(UTC day as YYYY-MM-DD, action, count) of events of `actions` in [since, until)."""
    occurred = _event.c.occurred_at
    if session.get_bind().dialect.name == "postgresql":
        day: Any = sa.func.to_char(sa.func.timezone("UTC", occurred), "YYYY-MM-DD")
    else:  # SQLite keeps UTC text (db.UTCDateTime): its first ten characters are the day
        day = sa.func.substr(occurred, 1, 10)
    stmt = (
        sa.select(day.label("day"), _event.c.action, sa.func.count())
        .where(occurred >= since, occurred < until, _event.c.action.in_(list(actions)))
        .group_by(day, _event.c.action)
    )
    return [(str(d), str(a), int(n)) for d, a, n in session.execute(stmt)]
