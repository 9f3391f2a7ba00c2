"""The holder's language through the portal's forms, as a browser sends them: the account
page's choice is kept with its audit event (and nothing at all when the form is refused), a
refused action is explained in the holder's language, and a visitor's `?lang=` is kept for the
next pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import HolderAccount
from tests.portal.conftest import Portal
from tests.verification.conftest import audit_events


def _language_events(client: TestClient, admin_headers: dict[str, str], holder_id: str) -> list:
    return [
        e
        for e in audit_events(client, admin_headers)
        if e["action"] == "holder.language_changed" and e["subjects"]["holder_id"] == holder_id
    ]


def test_the_account_page_changes_the_language_with_its_audit_event(
    client: TestClient,
    admin_headers: dict[str, str],
    signed_in: Portal,
    holder: HolderAccount,
) -> None:
    r = signed_in.submit("/portal/account/language", language="es")
    assert r.status_code == 303 and r.headers["location"] == "/portal/account?done=language"
    page = signed_in.get("/portal/account?done=language")
    assert '<html lang="es">' in page.text
    assert "Su idioma se ha cambiado." in page.text
    assert '<option value="es" lang="es" selected>' in page.text
    (event,) = _language_events(client, admin_headers, holder.id)
    # Codes only: no name, no address.
    assert event["payload"] == {"from": None, "to": "es"}
    assert event["actor"] == holder.id

    # The same language again changes nothing and records nothing.
    assert signed_in.submit("/portal/account/language", language="es").status_code == 303
    assert len(_language_events(client, admin_headers, holder.id)) == 1
    assert signed_in.submit("/portal/account/language", language="fr").status_code == 303
    assert [e["payload"] for e in _language_events(client, admin_headers, holder.id)] == [
        {"from": None, "to": "es"},
        {"from": "es", "to": "fr"},
    ]


def test_a_refused_language_change_changes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    signed_in: Portal,
    holder: HolderAccount,
) -> None:
    unknown = signed_in.submit("/portal/account/language", language="de")
    assert unknown.status_code == 422
    assert "Choose English, Español or Français." in unknown.text
    forged = signed_in.submit("/portal/account/language", csrf=False, language="fr")
    assert forged.status_code == 403
    forged = signed_in.submit(
        "/portal/account/language", csrf=False, language="fr", csrf_token="0" * 64
    )
    assert forged.status_code == 403
    assert _language_events(client, admin_headers, holder.id) == []
    assert '<html lang="en">' in signed_in.get("/portal").text


def test_a_refused_action_is_explained_in_the_holders_language(
    open_portal: Callable[..., Portal],
    register_holder: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
) -> None:
    holder = register_holder(language="fr")
    portal = open_portal()
    assert portal.login(holder.email, holder.password).status_code == 303
    req = ask(holder.id)
    assert portal.submit(f"/portal/requests/{req['id']}/decline").status_code == 303
    again = portal.submit(f"/portal/requests/{req['id']}/decline")
    assert again.status_code == 409
    assert '<html lang="fr">' in again.text
    assert "<h1>Cela a déjà été décidé</h1>" in again.text
    assert "Cette demande a déjà été acceptée ou refusée." in again.text
    missing = portal.get("/portal/consents/con_nothing_here")
    assert missing.status_code == 404 and "Il n’y a rien ici." in missing.text


def test_a_visitors_language_choice_is_kept_for_the_next_pages(
    open_portal: Callable[..., Portal],
) -> None:
    portal = open_portal()
    first = portal.get("/portal/login", headers={"Accept-Language": "en-GB,en"})
    assert '<html lang="en">' in first.text
    chosen = portal.get("/portal/login?lang=fr", headers={"Accept-Language": "en-GB,en"})
    assert '<html lang="fr">' in chosen.text
    assert 'href="/portal/login?lang=es" lang="es" hreflang="es"' in chosen.text
    # The next page, without ?lang=, is still French, whatever the browser prefers.
    following = portal.get("/portal/sign-up", headers={"Accept-Language": "es"})
    assert '<html lang="fr">' in following.text
    # An unknown ?lang= is ignored: the kept choice stays.
    odd = portal.get("/portal/forgot-password?lang=xx")
    assert '<html lang="fr">' in odd.text
