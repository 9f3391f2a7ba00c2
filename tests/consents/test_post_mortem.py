"""The end of post-mortem rights per jurisdiction (IDENTITY.md "Death"; rules.py table)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from consent_service.consents import rules
from tests.consents.conftest import accept, ask

DIED = date(2024, 3, 1)


@pytest.mark.parametrize(
    ("jurisdiction", "years"),
    [("US-CA", 70), ("US-NY", 40), ("US-IL", 50), ("US-TX", 50), ("US-FL", 40), ("US-IN", 100)],
)
def test_the_table_gives_the_statutory_period(jurisdiction, years):
    # (enforce; CA Civ. Code §3344.1, NY Civ. Rights Law §50-f, 765 ILCS 1075/30, …)
    assert rules.post_mortem_rights_until(jurisdiction, DIED) == DIED.replace(
        year=DIED.year + years
    )
    assert rules.POST_MORTEM_RIGHTS[jurisdiction].source


def test_tennessee_grants_only_the_ten_years_the_registry_can_compute():
    # (TN ELVIS Act) 10 years, then while used: use is not visible to the registry, so the
    # computed end is the tenth anniversary and the rest is stated, not granted.
    assert rules.post_mortem_rights_until("US-TN", DIED) == date(2034, 3, 1)
    assert "non-use" in (rules.POST_MORTEM_RIGHTS["US-TN"].not_computed or "")


@pytest.mark.parametrize("jurisdiction", ["US", "DK"])
def test_bills_are_listed_but_grant_nothing(jurisdiction):
    # (NF: NO FAKES Act bill; Danish likeness bill) listed with their periods, not in force.
    rule = rules.POST_MORTEM_RIGHTS[jurisdiction]
    assert not rule.in_force and "bill" in rule.source.lower()
    assert rules.post_mortem_rule(jurisdiction) is None
    assert rules.post_mortem_rights_until(jurisdiction, DIED) is None


@pytest.mark.parametrize("jurisdiction", ["GB", "FR", "US-WA", "GB-SCT"])
def test_a_jurisdiction_not_in_the_table_allows_no_post_mortem_grant(jurisdiction):
    assert rules.post_mortem_rights_until(jurisdiction, DIED, executor_end=date(2030, 1, 1)) is None


def test_an_executor_may_shorten_never_lengthen():
    law = date(2094, 3, 1)
    assert rules.post_mortem_rights_until("US-CA", DIED, executor_end=date(2040, 1, 1)) == date(
        2040, 1, 1
    )
    assert rules.post_mortem_rights_until("US-CA", DIED, executor_end=date(2150, 1, 1)) == law
    assert rules.post_mortem_rights_until("US-CA", DIED, executor_end=law) == law


def test_a_death_on_29_february_ends_on_1_march():
    assert rules.post_mortem_rights_until("US-NY", date(2024, 2, 29)) == date(2064, 2, 29)
    assert rules.post_mortem_rights_until("US-TN", date(2024, 2, 29)) == date(2034, 3, 1)


# -- through the API: the executor's typed date is cut to the law's end -----------------------


def _executor(add_representative, estate_id, admin_headers, until: str):
    return add_representative(
        estate_id,
        "executor",
        admin_headers,
        approved=True,
        post_mortem_rights={
            "until": until,
            "registry": "Probate registry",
            "reference": "PMR-1",
        },
    )


def test_the_effective_end_is_the_earlier_of_the_typed_date_and_the_law(
    client: TestClient, register_holder, studio, admin_headers, add_representative
):
    # (enforce; TN ELVIS Act) died 2020-01-01 in Tennessee: rights end 2030-01-01, whatever
    # the executor typed (2060-01-01).
    estate = register_holder(
        date_of_birth="1940-01-01", date_of_death="2020-01-01", jurisdiction="US-TN"
    )
    executor = _executor(add_representative, estate.id, admin_headers, "2060-01-01")
    r = ask(client, studio, estate.id, valid_until="2030-06-01T00:00:00Z")
    assert r.status_code == 422 and r.json()["code"] == "term_past_post_mortem_rights", r.text
    assert "2030-01-01" in r.json()["detail"]
    req = ask(client, studio, estate.id, valid_until="2029-12-31T00:00:00Z")
    assert req.status_code == 201, req.text
    r = accept(client, executor.headers, req.json())
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["valid_until"].startswith("2029-12-31")


def test_an_executor_shorter_date_still_applies(
    client: TestClient, register_holder, studio, admin_headers, add_representative
):
    estate = register_holder(
        date_of_birth="1940-01-01", date_of_death="2024-03-01", jurisdiction="US-CA"
    )
    _executor(add_representative, estate.id, admin_headers, "2029-01-01")
    r = ask(client, studio, estate.id, valid_until="2029-06-01T00:00:00Z")
    assert r.status_code == 422 and r.json()["code"] == "term_past_post_mortem_rights"


@pytest.mark.parametrize("jurisdiction", ["GB", "DK", "US"])
def test_no_post_mortem_grant_where_the_table_has_no_entry_in_force(
    client: TestClient, register_holder, studio, admin_headers, add_representative, jurisdiction
):
    estate = register_holder(
        date_of_birth="1940-01-01", date_of_death="2024-03-01", jurisdiction=jurisdiction
    )
    _executor(add_representative, estate.id, admin_headers, "2030-01-01")
    r = ask(client, studio, estate.id)
    assert r.status_code == 422 and r.json()["code"] == "no_post_mortem_rights", r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/consent-requests", headers=studio.headers).json()["items"] == []
