"""Every enforce-rule refuses with its code; every flag-rule appears in `warnings`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from consent_service.consents import notice, rules
from tests.agreements.support import register_agreement
from tests.consents.conftest import DESCRIPTION, accept, ask, make_terms, years_from_now

SOON = (datetime.now(UTC) + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
PAST = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

REFUSALS = [
    ({"attributes": []}, "attributes_required"),
    ({"attributes": ["face", "fingerprint"]}, "unknown_attribute"),
    ({"purposes": []}, "purposes_required"),
    ({"purposes": ["film_tv", "any_purpose"]}, "unknown_purpose"),
    ({"intended_use_description": "A digital double for a film."}, "description_not_specific"),
    (
        {"intended_use_description": DESCRIPTION + " And for any purpose, in all media."},
        "description_not_specific",
    ),
    (
        {
            "intended_use_description": DESCRIPTION + " In perpetuity, in media now known or "
            "hereafter devised."
        },
        "description_not_specific",
    ),
    ({"project": "   "}, "project_required"),
    ({"territories": []}, "territories_required"),
    ({"territories": ["GB", "XX"]}, "unknown_territory"),
    ({"territories": ["WORLDWIDE", "GB"]}, "unknown_territory"),
    ({"media": []}, "media_required"),
    ({"media": ["hologram"]}, "unknown_medium"),
    ({"prohibited_uses": ["sexual_content", "weapons"]}, "unknown_prohibited_use"),
    ({"compensation": {"amount": "100", "currency": "ABC"}}, "unknown_currency"),
    ({"compensation": {"amount": "100", "currency": "XXX"}}, "unknown_currency"),
    ({"replica_type": "whatever"}, "unknown_replica_type"),
    ({"representation": {"kind": "lawyer"}}, "lawyer_initials_required"),
    ({"representation": {"kind": "union"}}, "union_agreement_required"),
    ({"valid_until": years_from_now(10, days=30)}, "term_too_long"),
    ({"valid_from": years_from_now(1), "valid_until": years_from_now(0, days=30)}, "invalid_term"),
    ({"valid_from": years_from_now(-2), "valid_until": PAST}, "term_already_ended"),
]


@pytest.mark.parametrize(("overrides", "code"), REFUSALS, ids=[c for _, c in REFUSALS])
def test_enforce_rule_refuses_the_request_with_its_code(
    client: TestClient, holder, studio, overrides, code
):
    r = ask(client, studio, holder.id, **overrides)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == code and body["rule"] == code and body["source"]
    assert r.headers["content-type"] == "application/problem+json"
    assert body["errors"][0]["code"] == code
    assert client.get("/v1/consent-requests", headers=studio.headers).json()["items"] == []


def test_a_registered_union_agreement_that_covers_replicas_allows_a_longer_term(
    client: TestClient, holder, studio, admin_headers
):
    # (enforce; NF, IDENTITY "Collective agreements") cover comes from the registry.
    covering = register_agreement(client, admin_headers)
    not_covering = register_agreement(client, admin_headers, covers_replicas=False)
    union = {"kind": "union", "agreement_id": covering["id"]}
    r = ask(client, studio, holder.id, representation=union, valid_until=years_from_now(15))
    assert r.status_code == 201, r.text
    assert accept(client, holder.headers, r.json()).status_code == 201
    union = {"kind": "union", "agreement_id": not_covering["id"]}
    r = ask(client, studio, holder.id, representation=union, valid_until=years_from_now(15))
    assert r.status_code == 422 and r.json()["code"] == "term_too_long"


def test_malformed_terms_are_a_validation_error_not_a_crash(client: TestClient, holder, studio):
    for bad in ({"valid_from": "next tuesday"}, {"replaces_in_person_work": "maybe"}):
        r = ask(client, studio, holder.id, **bad)
        assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder.id, "terms": make_terms(), "language": "xx"},
        headers=studio.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "unsupported_language"


def _codes(warnings: list[dict]) -> set[str]:
    return {w["code"] for w in warnings}


def test_unrepresented_replacement_in_california_is_flagged_on_request_and_grant(
    client: TestClient, register_holder, studio
):
    holder = register_holder(jurisdiction="US-CA")
    r = ask(
        client,
        studio,
        holder.id,
        representation={"kind": "none"},
        replaces_in_person_work=True,
    )
    assert r.status_code == 201
    assert "enforceability_risk" in _codes(r.json()["warnings"])
    consent = accept(client, holder.headers, r.json()).json()["consent"]
    assert "enforceability_risk" in _codes(consent["warnings"])

    gb = register_holder(jurisdiction="GB")
    r = ask(client, studio, gb.id, representation={"kind": "none"}, replaces_in_person_work=True)
    assert "enforceability_risk" not in _codes(r.json()["warnings"])


def test_employment_replica_noticed_less_than_48_hours_ahead_is_flagged(
    client: TestClient, holder, studio
):
    r = ask(client, studio, holder.id, replica_type="employment_based", valid_from=SOON)
    assert r.status_code == 201
    assert "short_notice" in _codes(r.json()["warnings"])
    consent = accept(client, holder.headers, r.json()).json()["consent"]
    assert "short_notice" in _codes(consent["warnings"])
    r = ask(client, studio, holder.id, replica_type="employment_based")
    assert "short_notice" not in _codes(r.json()["warnings"])
    r = ask(client, studio, holder.id, replica_type="independently_created", valid_from=SOON)
    assert "short_notice" not in _codes(r.json()["warnings"])


def test_removing_a_default_prohibited_use_is_flagged_and_shown_in_the_notice(
    client: TestClient, holder, studio
):
    r = ask(client, studio, holder.id, prohibited_uses=["sexual_content", "defamatory_content"])
    assert r.status_code == 201
    assert "default_prohibited_use_removed" in _codes(r.json()["warnings"])
    assert "Never for: defamatory content, sexual content" in r.json()["notice"]["text"]
    r = ask(
        client, studio, holder.id, prohibited_uses=[*rules.DEFAULT_PROHIBITED_USES, "video_game"]
    )
    assert r.json()["warnings"] == []
    assert r.json()["terms"]["prohibited_uses"][-1] == "video_game"


def test_a_real_currency_is_taken_as_given(client: TestClient, holder, studio):
    for currency in ("EUR", "JPY", "CHF"):
        r = ask(client, studio, holder.id, compensation={"amount": "10", "currency": currency})
        assert r.status_code == 201, r.text
        assert r.json()["terms"]["compensation"]["currency"] == currency


# -- pure functions --------------------------------------------------------------------------


ADULT = rules.HolderFacts(status="living_adult", jurisdiction="GB")


def test_check_term_caps_a_minor_at_the_18th_birthday():
    now = datetime(2026, 11, 22, tzinfo=UTC)
    minor = rules.HolderFacts(
        status="minor", jurisdiction="GB", eighteenth_birthday=date(2028, 3, 1)
    )
    until, warnings = rules.check_term(
        valid_from=now,
        valid_until=datetime(2030, 1, 1, tzinfo=UTC),
        holder=minor,
        representation={"kind": "none"},
        now=now,
    )
    assert until == datetime(2028, 3, 1, tzinfo=UTC)
    assert [w.code for w in warnings] == ["capped_at_majority"]
    with pytest.raises(rules.TermsRefused) as exc:
        rules.check_term(
            valid_from=now,
            valid_until=datetime(2032, 1, 1, tzinfo=UTC),
            holder=minor,
            representation={"kind": "none"},
            now=now,
        )
    assert exc.value.code == "term_too_long"


def test_check_term_allows_exactly_ten_years_from_signing_for_an_adult():
    # (enforce; NF) the cap counts from signing (`now`), whatever valid_from says.
    start = datetime(2026, 12, 1, tzinfo=UTC)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    until, _ = rules.check_term(
        valid_from=start,
        valid_until=rules.add_years(now, 10),
        holder=ADULT,
        representation={"kind": "none"},
        now=now,
    )
    assert until == datetime(2036, 11, 22, tzinfo=UTC)
    with pytest.raises(rules.TermsRefused) as exc:
        rules.check_term(
            valid_from=start,
            valid_until=rules.add_years(now, 10) + timedelta(seconds=1),
            holder=ADULT,
            representation={"kind": "none"},
            now=now,
        )
    assert exc.value.code == "term_too_long"


@pytest.mark.parametrize(
    ("status", "role", "estate", "code"),
    [
        ("minor", "self", False, "guardian_required"),
        ("minor", "agent", False, "guardian_required"),
        ("minor", "executor", True, "guardian_required"),
        ("deceased", "self", False, "estate_authority_required"),
        ("deceased", "executor", False, "estate_authority_required"),
        ("deceased", "guardian", True, "estate_authority_required"),
        ("living_adult", "guardian", False, "signer_not_authorised"),
        ("living_adult", "agent", False, "signer_not_authorised"),
        ("living_adult", "executor", True, "signer_not_authorised"),
    ],
)
def test_only_the_right_signer_may_consent(status, role, estate, code):
    # The role only; the reviewed authority and the minor's court approval are verification
    # cases, checked through the API (tests/consents/test_signers.py).
    with pytest.raises(rules.TermsRefused) as exc:
        rules.check_signer(holder_status=status, signer_role=role, has_estate_authority=estate)
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("status", "role", "estate"),
    [
        ("minor", "guardian", False),
        ("deceased", "executor", True),
        ("living_adult", "self", False),
        ("living_adult", "representative", False),
    ],
)
def test_the_right_signer_passes(status, role, estate):
    rules.check_signer(holder_status=status, signer_role=role, has_estate_authority=estate)


def test_rendering_is_deterministic_and_versioned():
    terms = {
        "attributes": ["face"],
        "purposes": ["advertising"],
        "intended_use_description": DESCRIPTION,
        "project": "Spring Campaign",
        "territories": ["WORLDWIDE"],
        "media": ["online"],
        "prohibited_uses": list(rules.DEFAULT_PROHIBITED_USES),
        "replica_type": "independently_created",
        "replaces_in_person_work": False,
        "representation": {"kind": "none"},
        "compensation": None,
        "valid_from": "2027-01-01T00:00:00Z",
        "valid_until": "2028-01-01T00:00:00Z",
    }
    kwargs = {"studio_id": "org_x", "studio_name": "Acme", "issuer": "https://r.example"}
    first = notice.render(terms, **kwargs)
    assert notice.render(dict(terms), **kwargs) == first
    assert notice.sha256_of(first) == notice.sha256_of(notice.render(terms, **kwargs))
    assert f"template {notice.CURRENT_VERSION}, language en" in first
    assert "worldwide" in first and "- Pay: none" in first
    # A released template never changes: v2 notices still render as they were served.
    v2 = notice.render(terms, version=notice.V2, **kwargs)
    assert "template 2026-11-v2, language en" in v2 and "Compensation: none" in v2
    with pytest.raises(notice.UnknownTemplate):
        notice.render(terms, language="de", **kwargs)
