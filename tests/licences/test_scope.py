"""Scope containment as a pure function: the one rule the licence service and verifier share."""

from __future__ import annotations

from typing import Any

import pytest

from consent_service.licences import scope, verifier
from consent_service.licences.scope import WORLDWIDE, Excess, scope_excess
from consent_service.licences.service import ScopeExceedsConsent, licence_scope_within
from consent_service.licences.verifier import ProposedUse

GRANT: dict[str, Any] = {
    "attributes": ["face", "voice"],
    "purposes": ["film_tv"],
    "media": ["streaming", "cinema"],
    "territories": ["GB", "FR"],
    "project": "Harbour Lights",
    "prohibited_uses": ["political_endorsement", "adult_content"],
}


@pytest.mark.parametrize(
    ("outer", "wanted", "excess"),
    [
        (GRANT, {}, []),
        (GRANT, {"attributes": ["face"], "media": ["cinema"], "territories": ["FR"]}, []),
        (GRANT, {"attributes": ["body", "face", "gait"]}, [Excess("attributes", ("body", "gait"))]),
        (GRANT, {"purposes": ["advertising"]}, [Excess("purposes", ("advertising",))]),
        (GRANT, {"media": ["broadcast"]}, [Excess("media", ("broadcast",))]),
        (GRANT, {"territories": ["GB", "US"]}, [Excess("territories", ("US",))]),
        # WORLDWIDE covers every territory, and only WORLDWIDE covers WORLDWIDE.
        ({**GRANT, "territories": [WORLDWIDE]}, {"territories": ["JP", "BR"]}, []),
        ({**GRANT, "territories": [WORLDWIDE]}, {"territories": [WORLDWIDE]}, []),
        (GRANT, {"territories": [WORLDWIDE]}, [Excess("territories", (WORLDWIDE,))]),
        # The project: its own, or none asked for.
        (GRANT, {"project": "Harbour Lights"}, []),
        (GRANT, {"project": None}, []),
        (GRANT, {"project": "Other"}, [Excess("project", ("Other",))]),
        ({**GRANT, "project": None}, {"project": "Other"}, [Excess("project", ("Other",))]),
        # Prohibited uses are refused whatever else matches, reported in the caller's order.
        (
            {**GRANT, "purposes": ["film_tv", "political_endorsement"]},
            {"purposes": ["political_endorsement"], "uses": ["political_endorsement"]},
            [Excess("prohibited_uses", ("political_endorsement",))],
        ),
        (
            GRANT,
            {"uses": ["film_tv", "adult_content", "political_endorsement"]},
            [Excess("prohibited_uses", ("adult_content", "political_endorsement"))],
        ),
        (
            GRANT,
            {"uses": ["film_tv"], "prohibited": ["film_tv"]},
            [Excess("prohibited_uses", ("film_tv",))],
        ),
        (GRANT, {"uses": ["adult_content"], "prohibited": []}, []),
        # Every excess at once, in checking order.
        (
            GRANT,
            {
                "attributes": ["gait"],
                "purposes": ["news"],
                "media": ["radio"],
                "territories": ["US"],
                "project": "Other",
                "uses": ["adult_content"],
            },
            [
                Excess("attributes", ("gait",)),
                Excess("purposes", ("news",)),
                Excess("media", ("radio",)),
                Excess("territories", ("US",)),
                Excess("project", ("Other",)),
                Excess("prohibited_uses", ("adult_content",)),
            ],
        ),
        # A dimension that is not a list lists nothing (a signed scope is still just JSON).
        ({"attributes": "face"}, {"attributes": ["face"]}, [Excess("attributes", ("face",))]),
        ({}, {"territories": ["GB"]}, [Excess("territories", ("GB",))]),
        (
            {"territories": {WORLDWIDE: 1}},
            {"territories": ["GB"]},
            [Excess("territories", ("GB",))],
        ),
    ],
)
def test_scope_excess_names_what_lies_outside(
    outer: dict[str, Any], wanted: dict[str, Any], excess: list[Excess]
):
    assert scope_excess(outer, **wanted) == excess


def test_a_worldwide_scope_covers_every_territory():
    assert scope.territory_covered("JP", [WORLDWIDE])
    assert scope.territory_covered(WORLDWIDE, [WORLDWIDE, "GB"])
    assert scope.territory_covered("GB", ["GB"])
    assert not scope.territory_covered(WORLDWIDE, ["GB", "FR"])
    assert not scope.territory_covered("US", ["GB"])


@pytest.mark.parametrize(
    ("use", "reason"),
    [
        (ProposedUse(attribute="face", territory="GB", project="Harbour Lights"), None),
        (ProposedUse(attribute="gait"), "attribute 'gait' is not licensed"),
        (ProposedUse(purpose="news"), "purpose 'news' is not licensed"),
        (ProposedUse(medium="radio"), "medium 'radio' is not licensed"),
        (ProposedUse(territory="US"), "territory 'US' is not licensed"),
        (ProposedUse(territory=WORLDWIDE), "territory 'WORLDWIDE' is not licensed"),
        (ProposedUse(project="Other"), "project 'Other' is not the licensed project"),
        (ProposedUse(categories=("adult_content",)), "'adult_content' is a prohibited use"),
        # The first reason wins: the attribute before the territory.
        (ProposedUse(attribute="gait", territory="US"), "attribute 'gait' is not licensed"),
    ],
)
def test_the_verifier_gives_the_first_reason_a_use_is_outside(use: ProposedUse, reason: str | None):
    assert verifier.use_outside_scope(GRANT, use) == reason


def test_a_prohibited_purpose_is_refused_even_when_listed():
    licence_scope = {**GRANT, "purposes": ["film_tv", "adult_content"]}
    use = ProposedUse(purpose="adult_content", categories=("political_endorsement",))
    assert verifier.use_outside_scope(licence_scope, use) == "'adult_content' is a prohibited use"


def requested(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attributes": ["face"],
        "purposes": ["film_tv"],
        "media": ["streaming"],
        "territories": ["GB"],
        "project": None,
    }
    return {**body, **changes}


def test_the_licence_scope_takes_the_grants_project_and_prohibited_uses():
    assert licence_scope_within(GRANT, requested(attributes=["face", "face"])) == {
        "attributes": ["face"],
        "purposes": ["film_tv"],
        "media": ["streaming"],
        "territories": ["GB"],
        "project": "Harbour Lights",
        "prohibited_uses": ["political_endorsement", "adult_content"],
    }


def test_a_licence_scope_beyond_the_grant_lists_every_problem():
    grant = {**GRANT, "media": ["streaming", "adult_content"]}
    with pytest.raises(ScopeExceedsConsent) as raised:
        licence_scope_within(
            grant,
            requested(
                attributes=["face", "gait"],
                media=["adult_content"],
                territories=[WORLDWIDE],
                project="Other",
            ),
        )
    assert raised.value.extra["errors"] == [
        {"field": "scope.attributes", "outside": ["gait"]},
        {"field": "scope.territories", "outside": [WORLDWIDE]},
        {"field": "scope.project", "outside": ["Other"]},
        {"field": "scope", "prohibited": ["adult_content"]},
    ]


def test_a_worldwide_grant_licenses_any_territory():
    worldwide = {**GRANT, "territories": [WORLDWIDE]}
    scope_ = licence_scope_within(worldwide, requested(territories=["JP", WORLDWIDE]))
    assert scope_["territories"] == ["JP", WORLDWIDE]
