"""RFC 8785 JSON Canonicalization Scheme (JCS) for the values this service signs and hashes.

Audit events, notices and receipts are hashed over their canonical bytes, so that an auditor's
own JCS implementation computes the same hash. Supported values: dict with str keys, list,
str, int, bool, None. Floats are refused (no event carries one), which keeps the number
serialisation of RFC 8785 §3.2.2.3 trivially exact.
"""

from __future__ import annotations

import json
from typing import Any


def _utf16_key(key: str) -> bytes:
    # RFC 8785 §3.2.3: members are sorted by their names as arrays of UTF-16 code units.
    return key.encode("utf-16-be")


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError("integer outside the I-JSON safe range")
        out.append(str(value))
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in canonical JSON here")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise TypeError(f"cannot canonicalise {type(value).__name__}")


_MAX_SAFE_INTEGER = 2**53 - 1
# The standard library's C encoder, set up to write exactly what `_encode` writes for "plain"
# values (below): strings escaped as `_encode` escapes them (the same encoder function),
# no whitespace, members sorted by name.
_PLAIN_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)


def _plain(value: Any) -> bool:
    """True when the C encoder writes `value` exactly as RFC 8785 does: only str, int in the
    safe range, bool, None, lists and dicts whose names are ASCII (for ASCII, sorting by code
    point and by UTF-16 code unit agree); exact types only, so no subclass changes the text."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER)
    if kind is dict:
        for key, item in value.items():  # loops, not all(genexpr): this runs per event
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value`."""
    # Audit events are appended in batches of thousands: the C encoder writes the common
    # case several times faster than the walk below, with the same bytes (tested).
    if _plain(value):
        return _PLAIN_ENCODER.encode(value).encode("utf-8")
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")
