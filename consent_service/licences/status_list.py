"""Status lists in the shape of the IETF OAuth Token Status List draft (oauth-status-list).

A list has `STATUS_LIST_SIZE` entries of `STATUS_BITS` bits each (0 valid, 1 invalid,
2 suspended). The bytes are never stored: each fetch derives them from the licence table (only
the entries that are not valid need reading), so a withdrawal shows on the next fetch without
a second write path that could disagree with the licences.

Indexes are drawn at random (`allocate` in service.py) so that an index reveals neither the
order nor the number of licences issued; a list is closed when half of it is used, which keeps
a random draw cheap and the list large enough to hide in.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from consent_service.licences.verifier import (
    STATUS_INVALID,
    STATUS_LIST_TYP,
    STATUS_SUSPENDED,
    STATUS_VALID,
)

__all__ = [
    "STATUS_BITS",
    "STATUS_INVALID",
    "STATUS_LIST_SIZE",
    "STATUS_LIST_TYP",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "encode_lst",
    "status_list_claims",
]

STATUS_BITS = 2
STATUS_LIST_SIZE = 131072  # 2^17 entries: 32 KiB of status bits per list
# How long a status-list token stays usable, in multiples of its ttl. One: a withdrawal must
# reach every offline verifier within the list's ttl, including one that reads the list from a
# file and one built on another JOSE library that only checks `exp`. The list is rebuilt on
# every fetch, so a fresh copy is always a request away.
VALIDITY_IN_TTLS = 1


def encode_lst(entries: Iterable[tuple[int, int]], *, size: int, bits: int = STATUS_BITS) -> str:
    """`lst` for a list of `size` entries where `entries` gives (index, status) of non-zero ones.

    Entry `i` goes to byte `i * bits // 8`, least significant bits first; then zlib
    (RFC 1950 DEFLATE) and base64url without padding, as the draft specifies.
    """
    per_byte = 8 // bits
    data = bytearray((size * bits + 7) // 8)
    mask = (1 << bits) - 1
    for index, status in entries:
        byte_index, slot = divmod(index, per_byte)
        shift = slot * bits
        data[byte_index] = (data[byte_index] & ~(mask << shift)) | ((status & mask) << shift)
    compressed = zlib.compress(bytes(data), 9)
    return base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def status_list_claims(
    *, issuer: str, uri: str, lst: str, bits: int, ttl: int, now: datetime
) -> dict[str, Any]:
    """The claims of a status-list token (`typ: statuslist+jwt`)."""
    iat = int(now.timestamp())
    return {
        "iss": issuer,
        "sub": uri,
        "iat": iat,
        "exp": iat + ttl * VALIDITY_IN_TTLS,
        "ttl": ttl,
        "status_list": {"bits": bits, "lst": lst},
    }
