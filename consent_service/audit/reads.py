"""What an auditor reads of the log, noted as it is read (`accounts.auditors.note_log_read`):
one page of events, and the export's streamed file. Shared by the API (`audit/router.py`) and
the auditor pages (`portal/auditor.py`), so both answer and log the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session

from consent_service.accounts import auditors
from consent_service.accounts.principal import Principal
from consent_service.audit import export
from consent_service.crypto.signer import Signer

EXPORT_FORMATS = ("jsonl", "csv")


def events_page(
    session: Session, principal: Principal, filters: export.ExportFilter, *, after: int, limit: int
) -> dict[str, Any]:
    """A page of the filtered events (`export.list_events`), noted as an `audit_events` read."""
    page = export.list_events(session, after=after, limit=limit, filters=filters)
    seqs = [item["seq"] for item in page["items"]]
    auditors.note_log_read(
        session,
        principal,
        "audit_events",
        filters=filters.query(),
        after=after,
        limit=limit,
        seqs=[seqs[0], seqs[-1]] if seqs else [],
        count=len(seqs),
    )
    return page


def export_format(extra: dict[str, str]) -> str:
    """The export's `format` parameter: `jsonl` (default) or `csv`, else a 422 problem."""
    kind = extra.get("format", "jsonl")
    if kind not in EXPORT_FORMATS:
        raise export.InvalidFilterValue(
            f"format must be jsonl or csv, not {kind[:20]!r}",
            field="format",
            expected="jsonl or csv",
            allowed=list(EXPORT_FORMATS),
        )
    return kind


def export_response(
    session: Session,
    principal: Principal,
    *,
    signer: Signer,
    engine: Engine,
    filters: export.ExportFilter,
    kind: str,
    filename: str,
) -> StreamingResponse:
    """The filtered log as a streamed file of `kind`, its checkpoint fixed first; the read is
    noted after that, in the same transaction, so its event takes a seq >= the export's tree
    size: never inside the export it describes (the stream reads only seq < tree_size), and
    the export's checkpoint stays its own."""
    prepared = export.prepare_export(session, signer=signer, filters=filters)
    auditors.note_log_read(
        session,
        principal,
        "audit_export",
        filters=filters.query(),
        format=kind,
        tree_size=prepared.checkpoint["tree_size"],
    )
    headers = {
        "Audit-Checkpoint": prepared.checkpoint["signature"],
        "Audit-Tree-Size": str(prepared.checkpoint["tree_size"]),
        "Content-Disposition": f'attachment; filename="{filename}.{kind}"',
        "Cache-Control": "no-store",
    }
    stream: Iterable[bytes]
    if kind == "csv":
        stream = export.stream_csv(engine, prepared)
        return StreamingResponse(stream, media_type="text/csv", headers=headers)
    stream = export.stream_jsonl(engine, prepared)
    return StreamingResponse(stream, media_type="application/jsonl", headers=headers)
