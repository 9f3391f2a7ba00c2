"""Identity assurance levels of a holder (IDENTITY.md), computed from decided cases.

- `self_asserted`: registration with an email (roughly NIST SP 800-63A IAL1);
- `document_verified`: an approved identity document case (remote proofing, document review);
- `liveness_verified`: document_verified and an approved live-capture case (the consent video
  or voice captcha that likeness-cloning services ask for).

Pure: no I/O, so the same rule serves the API, licences and offline checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Assurance(StrEnum):
    self_asserted = "self_asserted"
    document_verified = "document_verified"
    liveness_verified = "liveness_verified"


ORDER = (Assurance.self_asserted, Assurance.document_verified, Assurance.liveness_verified)


def assurance_level(approved_kinds: Iterable[str]) -> Assurance:
    """The level given the kinds of the holder's currently approved cases.

    A live capture alone proves that someone spoke the phrase, not who they are: without an
    approved identity document it adds nothing.
    """
    kinds = set(approved_kinds)
    if "identity_document" not in kinds:
        return Assurance.self_asserted
    if "liveness" in kinds:
        return Assurance.liveness_verified
    return Assurance.document_verified


def at_least(level: Assurance, minimum: Assurance) -> bool:
    """Whether `level` meets `minimum` (for `min_assurance` checks)."""
    return ORDER.index(level) >= ORDER.index(minimum)


def highest(*levels: Assurance | str | None) -> Assurance:
    """The highest of the given levels (None counts as `self_asserted`, what everyone has)."""
    found = [Assurance(level) for level in levels if level is not None]
    return max(found, key=ORDER.index, default=Assurance.self_asserted)
