"""Granular consent: separate choices, a subset accepted, the scope and the receipt follow.

Through the API as a client would: a studio offers some items as separate choices (and
`ai_training` is always one), the holder accepts a subset quoting a hash that binds the notice
and the choices, and the grant, the licence scope and the signed receipt follow the choices.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.consents.conftest import accept, ask, binding
from tests.consents.test_receipts import verify_with_pyjwt


def _count(app, table: str) -> int:
    with app.state.services.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _granular(client, studio, holder_id, **overrides):
    terms = {
        "attributes": ["face", "voice"],
        "purposes": ["film_tv", "advertising", "ai_training"],
        "media": ["theatrical", "streaming", "social_media"],
        "optional": {
            "purposes": ["advertising"],
            "media": ["social_media"],
            "attributes": ["voice"],
        },
    }
    terms.update(overrides)
    r = ask(client, studio, holder_id, **terms)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_request_offers_each_optional_item_and_ai_training_separately(
    client: TestClient, holder, studio
):
    req = _granular(client, studio, holder.id)
    offered = [(c["dimension"], c["item"]) for c in req["choices"]]
    assert offered == [
        ("attributes", "voice"),
        ("media", "social_media"),
        ("purposes", "advertising"),
        ("purposes", "ai_training"),  # never bundled, though the studio did not mark it
    ]
    ai = next(c for c in req["choices"] if c["item"] == "ai_training")
    assert ai["label"] == "training AI models"
    assert "AI models" in ai["explanation"]
    assert req["terms"]["optional"]["purposes"] == ["advertising", "ai_training"]
    # The notice itself shows the choices apart from what is asked as a whole.
    text = req["notice"]["text"]
    assert "training AI models" in text and ai["explanation"] in text


def test_the_holder_accepts_a_subset_and_the_grant_and_receipt_follow_it(
    client: TestClient, holder, studio
):
    req = _granular(client, studio, holder.id)
    chosen = {"purposes": ["ai_training"], "attributes": ["voice"]}
    r = accept(
        client,
        holder.headers,
        req,
        choices=chosen,
        choices_sha256=binding(req["notice"]["sha256"], chosen),
    )
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["terms"]["purposes"] == ["ai_training", "film_tv"]
    assert consent["terms"]["media"] == ["streaming", "theatrical"]
    assert consent["terms"]["attributes"] == ["face", "voice"]
    assert "optional" not in consent["terms"]
    assert consent["choices_sha256"] == binding(req["notice"]["sha256"], chosen)
    answers = {(c["dimension"], c["item"]): c["accepted"] for c in consent["choices"]}
    assert answers == {
        ("attributes", "voice"): True,
        ("media", "social_media"): False,
        ("purposes", "advertising"): False,
        ("purposes", "ai_training"): True,
    }
    claims = verify_with_pyjwt(client, r.json()["receipt"])
    assert claims["purposes"] == ["ai_training", "film_tv"]
    assert claims["choices"] == consent["choices"]
    assert claims["choices_sha256"] == consent["choices_sha256"]
    assert claims["notice"]["sha256"] == req["notice"]["sha256"]
    # A licence may not reach a purpose the holder left out.
    read = client.get(f"/v1/consents/{consent['id']}", headers=holder.headers).json()
    assert "advertising" not in read["terms"]["purposes"]


def test_declining_every_choice_keeps_the_required_scope(client: TestClient, holder, studio):
    req = _granular(client, studio, holder.id)
    r = accept(client, holder.headers, req, choices_sha256=binding(req["notice"]["sha256"], {}))
    assert r.status_code == 201, r.text
    terms = r.json()["consent"]["terms"]
    assert terms["purposes"] == ["film_tv"]
    assert terms["attributes"] == ["face"]
    assert all(c["accepted"] is False for c in r.json()["consent"]["choices"])


def test_accepting_a_choice_not_offered_is_refused_and_writes_nothing(
    app, client: TestClient, holder, studio
):
    req = _granular(client, studio, holder.id)
    before = {t: _count(app, t) for t in ("consent_grant", "consent_receipt", "audit_event")}
    for chosen in (
        {"purposes": ["film_tv"]},  # asked for as a whole, not a choice
        {"purposes": ["news_documentary"]},  # not asked for at all
        {"media": ["print"]},
    ):
        r = accept(
            client,
            holder.headers,
            req,
            choices=chosen,
            choices_sha256=binding(req["notice"]["sha256"], chosen),
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "choice_not_offered"
    assert {t: _count(app, t) for t in before} == before
    again = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert again["status"] == "pending"


def test_the_hash_binds_the_choices(app, client: TestClient, holder, studio):
    req = _granular(client, studio, holder.id)
    before = _count(app, "consent_grant")
    chosen = {"purposes": ["ai_training"]}
    # Missing, for other choices, for another notice: each refused.
    for quoted in (
        None,
        binding(req["notice"]["sha256"], {"purposes": ["advertising"]}),
        binding(req["notice"]["sha256"], {}),
        binding("0" * 64, chosen),
    ):
        extra = {"choices": chosen}
        if quoted:
            extra["choices_sha256"] = quoted
        r = accept(client, holder.headers, req, **extra)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "choices_hash_mismatch"
    assert _count(app, "consent_grant") == before


def test_ai_training_alone_must_be_chosen_or_declined(client: TestClient, holder, studio):
    r = ask(client, studio, holder.id, purposes=["ai_training"])
    assert r.status_code == 201, r.text
    req = r.json()
    assert [c["item"] for c in req["choices"]] == ["ai_training"]
    r = accept(client, holder.headers, req, choices_sha256=binding(req["notice"]["sha256"], {}))
    assert r.status_code == 422
    assert r.json()["code"] == "choice_leaves_scope_empty"
    chosen = {"purposes": ["ai_training"]}
    r = accept(
        client,
        holder.headers,
        req,
        choices=chosen,
        choices_sha256=binding(req["notice"]["sha256"], chosen),
    )
    assert r.status_code == 201, r.text


def test_an_optional_item_must_be_one_the_terms_ask_for(client: TestClient, holder, studio):
    r = ask(client, studio, holder.id, optional={"purposes": ["advertising"]})
    assert r.status_code == 422
    assert r.json()["code"] == "optional_not_requested"
    r = ask(client, studio, holder.id, optional={"colours": ["red"]})
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"


def test_requests_without_choices_are_accepted_as_before(client: TestClient, holder, studio):
    r = ask(client, studio, holder.id)
    req = r.json()
    assert req["choices"] == [] and "optional" not in req["terms"]
    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["choices"] == [] and r.json()["consent"]["choices_sha256"] is None
    r2 = accept(
        client,
        holder.headers,
        ask(client, studio, holder.id).json(),
        choices={"purposes": ["film_tv"]},
    )
    assert r2.json()["code"] == "choice_not_offered"
