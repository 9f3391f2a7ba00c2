"""Usage fixtures: the licence fixtures, reused, and usage bodies."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from tests.licences.conftest import grant, issue, make_grant  # noqa: F401
from tests.portal.conftest import open_portal  # noqa: F401


def output_sha256() -> str:
    """The SHA-256 of a fresh random 'output'."""
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def usage(**overrides: Any) -> dict[str, Any]:
    """One usage inside the default licence scope (face, film_tv, GB, streaming)."""
    body: dict[str, Any] = {
        "output_sha256": output_sha256(),
        "media_type": "video/mp4",
        "duration_ms": 12_000,
        "width": 1920,
        "height": 1080,
        "use": {
            "attribute": "face",
            "purpose": "film_tv",
            "territory": "GB",
            "medium": "streaming",
        },
        "tool": {"name": "comfyui", "version": "0.3.10"},
    }
    body.update(overrides)
    return body
