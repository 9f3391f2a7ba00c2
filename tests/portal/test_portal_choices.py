"""Separate choices, the readable notice and the printable receipt in the portal (HTTP level).

The browser tests (tests/e2e) drive the same pages in Chromium; these check the forms' edges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import HolderAccount
from tests.portal.conftest import Portal, hidden_field

CHOICES = {"purposes": ["advertising"], "media": ["theatrical"]}


def _post_accept(
    portal: Portal, request_id: str, choices: list[str], name: str = "Imogen Testperson"
):
    page = portal.get(f"/portal/requests/{request_id}")
    assert page.status_code == 200, page.text
    return portal.http.post(
        f"/portal/requests/{request_id}/accept",
        data={
            "csrf_token": portal.csrf,
            "notice_sha256": hidden_field(page.text, "notice_sha256"),
            "signed_name": name,
            "choice": choices,
        },
    )


def _grants(app) -> int:
    with app.state.services.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM consent_grant")).scalar_one())


def test_the_request_page_offers_each_choice_with_its_explanation(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id, purposes=["film_tv", "advertising", "ai_training"], optional=CHOICES)
    page = signed_in.get(f"/portal/requests/{req['id']}").text
    for value in ("media:theatrical", "purposes:advertising", "purposes:ai_training"):
        assert f'value="{value}"' in page
    assert 'name="choice"' in page and "checked" not in page  # nothing is ticked for you
    assert "Yes to use: training AI models</label>" in page
    assert "teach computer systems (AI models)" in page
    # The structured notice: headings from the canonical text, words not codes.
    assert "<h3>Your choices</h3>" in page and "<h3>What it may be used for</h3>" in page
    assert "film_tv" not in page.split('<pre id="notice-text"')[0].split("<article")[1]


def test_a_subset_ticked_in_the_portal_is_the_grants_scope(
    client: TestClient,
    signed_in: Portal,
    holder: HolderAccount,
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id, purposes=["film_tv", "advertising", "ai_training"], optional=CHOICES)
    r = _post_accept(signed_in, req["id"], ["purposes:ai_training"])
    assert r.status_code == 303, r.text
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    grant = client.get(f"/v1/consents/{consent_id}", headers=holder.headers).json()
    assert grant["terms"]["purposes"] == ["ai_training", "film_tv"]
    assert grant["terms"]["media"] == ["streaming"]
    page = signed_in.get(f"/portal/consents/{consent_id}").text
    assert "training AI models: <strong>yes</strong>" in page
    assert "advertising: <strong>no</strong>" in page


def test_a_forged_choice_is_refused_and_nothing_is_signed(
    app, client: TestClient, signed_in: Portal, holder: HolderAccount, ask
):
    req = ask(holder.id, purposes=["film_tv", "advertising"], optional=CHOICES)
    before = _grants(app)
    for forged in (["purposes:film_tv"], ["purposes:news_documentary"], ["colour:red"], ["x"]):
        r = _post_accept(signed_in, req["id"], forged)
        assert r.status_code == 422, r.text
        assert "Nothing was signed" in r.text or "not offered" in r.text
    assert _grants(app) == before
    state = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert state["status"] == "pending"


def test_home_lists_what_each_request_is_for_with_ai_training_visible(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    ask(holder.id, project="Night Train", purposes=["film_tv", "ai_training"])
    page = signed_in.get("/portal").text
    assert "For: training AI models, film and television" in page
    assert "Asks to train AI models (a separate choice)" in page


def test_the_receipt_page_shows_who_signed_what_and_how_to_check(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id, purposes=["film_tv", "advertising", "ai_training"], optional=CHOICES)
    r = _post_accept(signed_in, req["id"], ["media:theatrical"], name="Imogen Q. Testperson")
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    page = signed_in.get(f"/portal/consents/{consent_id}/receipt/view")
    assert page.status_code == 200
    text = page.text
    assert 'id="receipt-signed-name">Imogen Q. Testperson<' in text
    assert "the holder, in person" in text
    assert req["notice"]["sha256"] in text
    assert "/.well-known/jwks.json" in text
    assert "Place it may be shown: cinemas</td>" in text
    assert "Use: training AI models</td>" in text
    # Another holder gets nothing.
    assert signed_in.get("/portal/consents/cns_nope/receipt/view").status_code == 404


def test_the_holder_reads_and_signs_the_notice_in_their_language(
    client: TestClient,
    open_portal: Callable[..., Portal],
    register_holder: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
):
    someone = register_holder(language="es")
    portal = open_portal()
    assert portal.login(someone.email, someone.password).status_code == 303
    req = ask(someone.id)
    es = next(n for n in req["translations"] if n["language"] == "es")
    page = portal.get(f"/portal/requests/{req['id']}").text
    assert hidden_field(page, "notice_sha256") == es["sha256"]
    assert hidden_field(page, "language") == "es"
    assert '<article id="notice" class="notice" aria-labelledby="notice-heading" lang="es">' in page
    assert "<h3>Aviso de consentimiento</h3>" in page or "Aviso de consentimiento</h3>" in page
    # The holder may switch: the page then carries the English text and its hash.
    english = portal.get(f"/portal/requests/{req['id']}?lang=en").text
    assert hidden_field(english, "notice_sha256") == req["notice"]["sha256"]
    r = portal.http.post(
        f"/portal/requests/{req['id']}/accept",
        data={
            "csrf_token": portal.csrf,
            "notice_sha256": es["sha256"],
            "language": "es",
            "signed_name": "Imogen Testperson",
        },
    )
    assert r.status_code == 303, r.text
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    grant = client.get(f"/v1/consents/{consent_id}", headers=someone.headers).json()
    assert grant["language"] == "es" and grant["notice_sha256"] == es["sha256"]


def test_a_hash_of_another_language_posted_from_the_portal_is_refused(
    app, signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id)
    fr = next(n for n in req["translations"] if n["language"] == "fr")
    before = _grants(app)
    r = signed_in.http.post(
        f"/portal/requests/{req['id']}/accept",
        data={
            "csrf_token": signed_in.csrf,
            "notice_sha256": fr["sha256"],
            "language": "en",
            "signed_name": "Imogen Testperson",
        },
    )
    assert r.status_code == 422
    assert "another language" in r.text or "in &#39;fr&#39;" in r.text
    assert _grants(app) == before
