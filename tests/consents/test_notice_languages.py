"""Notices in English, Spanish and French: the holder reads and signs the language they choose;
the hash is of the text in that language, and a hash for another language is refused."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.consents.conftest import accept, make_terms
from tests.consents.test_choices import binding
from tests.consents.test_receipts import verify_with_pyjwt


def _ask(client, studio, holder_id, language="en", **terms):
    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder_id, "terms": make_terms(**terms), "language": language},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _by_language(req) -> dict[str, dict]:
    return {n["language"]: n for n in [req["notice"], *req["translations"]]}


def _grants(app) -> int:
    with app.state.services.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM consent_grant")).scalar_one())


def test_every_notice_comes_in_three_languages_each_with_its_own_hash(
    client: TestClient, holder, studio
):
    req = _ask(client, studio, holder.id, valid_from="2027-03-01", valid_until="2028-03-01")
    notices = _by_language(req)
    assert set(notices) == {"en", "es", "fr"}
    for n in notices.values():
        assert n["sha256"] == hashlib.sha256(n["text"].encode("utf-8")).hexdigest()
        assert n["template_version"] == "2026-11-v3"
    assert len({n["sha256"] for n in notices.values()}) == 3
    assert notices["es"]["text"].startswith("# Aviso de consentimiento\n")
    assert "Desde el 1 de marzo de 2027 a las 00:00" in notices["es"]["text"]
    assert "Du 1er mars 2027 à 00:00" in notices["fr"]["text"]
    assert "Reino Unido" in notices["es"]["text"] and "Royaume-Uni" in notices["fr"]["text"]
    # A request asked in French has the French notice as its own.
    fr = _ask(client, studio, holder.id, language="fr")
    assert fr["notice"]["language"] == "fr" and fr["notice"]["text"].startswith("# Avis")


def test_the_holder_signs_the_spanish_text_and_the_grant_and_receipt_say_so(
    client: TestClient, holder, studio
):
    req = _ask(client, studio, holder.id, purposes=["film_tv", "ai_training"])
    es = _by_language(req)["es"]
    assert "entrenamiento de modelos de IA" in es["text"]
    chosen = {"purposes": ["ai_training"]}
    r = accept(
        client,
        holder.headers,
        req,
        notice_sha256=es["sha256"],
        language="es",
        choices=chosen,
        choices_sha256=binding(es["sha256"], chosen),
    )
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["language"] == "es" and consent["notice_sha256"] == es["sha256"]
    claims = verify_with_pyjwt(client, r.json()["receipt"])
    assert claims["language"] == "es" and claims["notice"]["sha256"] == es["sha256"]


def test_a_notice_hash_for_another_language_is_refused(app, client: TestClient, holder, studio):
    req = _ask(client, studio, holder.id)
    notices = _by_language(req)
    before = _grants(app)
    cases = [
        {"notice_sha256": notices["es"]["sha256"]},  # the Spanish hash, accepting in English
        {"notice_sha256": notices["en"]["sha256"], "language": "fr"},
        {"notice_sha256": notices["fr"]["sha256"], "language": "es"},
    ]
    for extra in cases:
        r = accept(client, holder.headers, req, **extra)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "notice_language_mismatch"
        assert "another language" in r.json()["title"]
    r = accept(client, holder.headers, req, language="de")
    assert r.status_code == 422 and r.json()["code"] == "unsupported_language"
    assert _grants(app) == before


def test_the_choices_hash_binds_the_language_read(client: TestClient, holder, studio):
    req = _ask(client, studio, holder.id, purposes=["film_tv", "ai_training"])
    notices = _by_language(req)
    chosen = {"purposes": ["ai_training"]}
    r = accept(
        client,
        holder.headers,
        req,
        notice_sha256=notices["fr"]["sha256"],
        language="fr",
        choices=chosen,
        choices_sha256=binding(notices["en"]["sha256"], chosen),  # bound to the English text
    )
    assert r.status_code == 422
    assert r.json()["code"] == "choices_hash_mismatch"


def test_a_language_without_a_template_is_refused_at_request(client: TestClient, holder, studio):
    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder.id, "terms": make_terms(), "language": "de"},
        headers=studio.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "unsupported_language"
