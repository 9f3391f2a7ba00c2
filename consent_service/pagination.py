"""Cursor pagination: `limit` and an opaque `cursor`; responses carry `items` and `next_cursor`.

The cursor encodes the sort key of the last item returned (`created_at`, `id`), so pages are
stable while new rows arrive. It is opaque to clients: base64url of a small JSON array.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from consent_service.errors import BadCursor

T = TypeVar("T")
U = TypeVar("U")

LimitQuery = Annotated[int, Query(ge=1, le=200, description="Page size")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="From `next_cursor`")]


def _created_and_id(row: Any) -> tuple[datetime, str]:
    return row.created_at, row.id


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[T],
        limit: int,
        *,
        key: Callable[[T], tuple[datetime, str]] = _created_and_id,
    ) -> Page[T]:
        """The page of `rows` fetched with `limit + 1`: a cursor only when a next row exists.

        Asking for one row more than shown is what tells a full last page from one with more
        after it, so no cursor ever leads to an empty page.
        """
        if len(rows) <= limit:
            return cls(items=list(rows), next_cursor=None)
        shown = list(rows[:limit])
        return cls(items=shown, next_cursor=encode_cursor(*key(shown[-1])))

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with every item converted (rows to their output schema)."""
        return Page[U](items=[convert(item) for item in self.items], next_cursor=self.next_cursor)


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return datetime.fromisoformat(created), str(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor() from exc
