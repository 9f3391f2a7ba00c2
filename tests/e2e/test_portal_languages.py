"""The portal's own words in the holder's language: a Spanish-speaking holder reads the home,
request, consent and account pages in Spanish (dates too), a French-speaking one in French, and
the pages still pass axe-core (the page's `lang` says the language)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Org
from tests.e2e.a11y import check_page
from tests.e2e.helpers import sign_in, sign_in_as, studio_asks

PASSWORD = "a long enough passphrase"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_spanish_speaking_holder_reads_the_portal_in_spanish(
    live_server: str, page: Any, register_holder: Any, studio: Org
) -> None:
    holder = register_holder(language="es", time_zone="Europe/Madrid")
    req = studio_asks(
        live_server,
        studio,
        holder.id,
        project="Tren nocturno",
        purposes=["film_tv", "ai_training"],
        valid_from="2027-01-10T09:00:00Z",
        valid_until="2028-01-10T09:00:00Z",
    )
    sign_in(page, live_server, holder)

    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Sus consentimientos"
    assert page.get_by_role("heading", name="Solicitudes que esperan su respuesta").is_visible()
    item = page.locator("li", has_text="Tren nocturno").inner_text()
    assert "Pide entrenar modelos de IA (una elección aparte)" in item
    assert page.get_by_role("button", name="Cerrar sesión").is_visible()
    check_page(page, "es-home")

    page.get_by_role("link", name="Tren nocturno").click()
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}")
    assert page.get_by_role("heading", name="De un vistazo").is_visible()
    assert page.locator("#notice").get_attribute("lang") == "es"
    check_page(page, "es-request")
    page.get_by_label("Escriba su nombre completo para firmar").fill("Imogen Testperson")
    page.get_by_role("button", name="Doy mi consentimiento").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")

    text = page.locator("main").inner_text()
    assert "Lo que aceptó" in text
    # Dates in words in Spanish, in the holder's time zone (Madrid is UTC+1 in January).
    assert "10 de enero de 2027, a las 10:00 hasta 10 de enero de 2028, a las 10:00" in text
    assert page.get_by_role("button", name="Suspender el consentimiento").is_visible()
    assert page.get_by_role("link", name="Retirar el consentimiento").is_visible()
    check_page(page, "es-consent")

    page.get_by_role("link", name="Su cuenta").first.click()
    page.wait_for_url(f"{live_server}/portal/account")
    assert page.locator("h1").inner_text() == "Su cuenta"
    assert page.get_by_role("heading", name="Cambie su contraseña").is_visible()
    assert page.get_by_label("Contraseña actual").is_visible()
    check_page(page, "es-account")


def test_a_french_speaking_holder_reads_french_and_others_english(
    live_server: str, page: Any, register_holder: Any
) -> None:
    french = register_holder(language="fr")
    sign_in(page, live_server, french)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Vos consentements"
    assert "Vous n’avez encore donné aucun consentement." in page.locator("main").inner_text()

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server}/portal/login?signed_out=true")
    english = register_holder()
    sign_in(page, live_server, english)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Your consents"


def test_the_language_chosen_at_sign_up_is_the_portals(live_server: str, page: Any) -> None:
    email = f"lucia-{secrets.token_hex(4)}@example.org"
    page.goto(f"{live_server}/portal/sign-up")
    page.get_by_label("Full legal name").fill("Lucía Ejemplo")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1991-03-04")
    page.get_by_label("Country (or state) where you live").fill("ES")
    page.get_by_label("Language").select_option("es")
    check_page(page, "sign-up-language")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    sign_in_as(page, live_server, email, PASSWORD)
    # The choice is kept on the holder: every later page is in Spanish.
    assert page.locator("h1").inner_text() == "Sus consentimientos"
    page.get_by_role("link", name="Su cuenta").click()
    assert page.locator("h1").inner_text() == "Su cuenta"
