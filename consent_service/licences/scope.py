"""Scope containment: when one licence scope lies within another. Pure; standard library only.

A scope (CONSENT_RULES.md, "Terms"; API.md, "Licences") names what a likeness may be used for:
`attributes`, `purposes`, `media` and `territories` (lists), a `project` and its
`prohibited_uses`. The same containment answers two questions:

- the licence service: may a licence for this requested scope be issued under the grant's terms?
- the offline verifier: does this proposed use lie within the licence's scope?

So both import this module, and the verifier stays free of the server (it imports nothing
here but the standard library). The rules, checked in this order:

1. Attributes, purposes and media: each wanted value is one of the outer scope's.
2. Territories: an outer scope with `WORLDWIDE` covers every territory; otherwise each wanted
   territory is listed (so a wanted `WORLDWIDE` needs an outer `WORLDWIDE`).
3. Project: a wanted project is the outer scope's project.
4. Prohibited uses: no value put to use is one of the prohibited uses, whatever else matches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The territory that covers every country (CONSENT_RULES.md, "Territories").
WORLDWIDE = "WORLDWIDE"
# The dimensions whose values must each be listed in the outer scope, in checking order.
LISTED_DIMENSIONS = ("attributes", "purposes", "media")
TERRITORIES = "territories"
PROJECT = "project"
PROHIBITED_USES = "prohibited_uses"


@dataclass(frozen=True, slots=True)
class Excess:
    """Values of one dimension that fall outside the outer scope.

    `dimension` is one of `LISTED_DIMENSIONS`, `territories`, `project` or `prohibited_uses`
    (then `values` are the wanted values that are prohibited).
    """

    dimension: str
    values: tuple[Any, ...]


def members(scope: Mapping[str, Any], dimension: str) -> list[Any]:
    """The values a scope lists for `dimension`; anything but a list counts as none."""
    value = scope.get(dimension)
    return value if isinstance(value, list) else []


def territory_covered(territory: Any, territories: Collection[Any]) -> bool:
    """Whether `territories` cover `territory`: listed, or `WORLDWIDE` among them."""
    return WORLDWIDE in territories or territory in territories


def scope_excess(
    outer: Mapping[str, Any],
    *,
    attributes: Iterable[Any] = (),
    purposes: Iterable[Any] = (),
    media: Iterable[Any] = (),
    territories: Iterable[Any] = (),
    project: Any = None,
    uses: Iterable[Any] = (),
    prohibited: Collection[Any] | None = None,
) -> list[Excess]:
    """What of the wanted scope lies outside `outer`, in checking order; empty when inside.

    `uses` are the values checked against the prohibited uses, in the order the caller wants
    them reported; `prohibited` defaults to `outer["prohibited_uses"]`. A `project` of None
    asks for no particular project.
    """
    found: list[Excess] = []
    # 1. Attributes, purposes, media: each value listed in the outer scope.
    for dimension, wanted in zip(LISTED_DIMENSIONS, (attributes, purposes, media), strict=True):
        allowed = members(outer, dimension)
        outside = tuple(value for value in wanted if value not in allowed)
        if outside:
            found.append(Excess(dimension, outside))
    # 2. Territories: WORLDWIDE in the outer scope covers every one.
    granted = members(outer, TERRITORIES)
    outside = tuple(value for value in territories if not territory_covered(value, granted))
    if outside:
        found.append(Excess(TERRITORIES, outside))
    # 3. Project: the outer scope's own, when one is asked for.
    if project is not None and project != outer.get(PROJECT):
        found.append(Excess(PROJECT, (project,)))
    # 4. Prohibited uses: refused whatever else they match.
    banned = members(outer, PROHIBITED_USES) if prohibited is None else prohibited
    used = tuple(value for value in uses if value in banned)
    if used:
        found.append(Excess(PROHIBITED_USES, used))
    return found
