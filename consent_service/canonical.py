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


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value`."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")
