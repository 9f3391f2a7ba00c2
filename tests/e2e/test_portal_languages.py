"""The portal's own words in the holder's language: a Spanish-speaking holder reads every page
in Spanish (dates too), a French-speaking one in French, and the pages still pass axe-core (the
page's `lang` says the language). No English is left: each page's visible text is searched for
every English message of the catalogue. Before sign-in the pages follow the browser's
Accept-Language or the switcher in the header; after it, the holder's choice, which they change
on the account page."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po

from consent_service.portal import i18n
from tests.conftest import Org
from tests.e2e.a11y import check_page
from tests.e2e.helpers import sign_in, sign_in_as, studio_asks
from tests.licences.conftest import licence_scope
from tests.vault import media

PASSWORD = "a long enough passphrase"


def _browser_context(browser: Any, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = _browser_context(browser)
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


# -- no English left ------------------------------------------------------------------------------

LOCALE = Path(i18n.__file__).parent / "locale"
DESCRIPTIONS = {
    "es": (
        "Un doble digital de su rostro para las escenas nocturnas de la película, que se verá "
        "en salas de cine y en servicios de streaming."
    ),
    "fr": (
        "Un double numérique de votre visage pour les scènes de nuit du film, qui sera montré "
        "en salles de cinéma et sur des services de streaming."
    ),
}


@cache
def _english_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each English message (a whole phrase, or the parts between its placeholders) that the
    Spanish and the French catalogues both say differently, as a case-sensitive whole-word
    search: any of them on a translated page is English left behind."""
    translations = []
    for language in ("es", "fr"):
        with (LOCALE / language / "LC_MESSAGES" / "portal.po").open("rb") as po:
            translations.append({m.id: m.string for m in read_po(po) if m.id})
    found = []
    for msgid, spanish in translations[0].items():
        if spanish == msgid or translations[1].get(msgid) == msgid:
            continue  # the same word in a language (`No`, `agent`): not a sign of English
        plain = re.sub(r"<[^>]+>", "", str(msgid))
        for part in re.split(r"%\(\w+\)s", plain):
            part = part.strip(" .,:;“”«»()")
            if len(part) >= 4 and re.search(r"[A-Za-z]{3}", part):
                found.append((part, re.compile(r"(?<!\w)" + re.escape(part) + r"(?!\w)")))
    return tuple(found)


def assert_translated(page: Any, language: str, name: str) -> None:
    """The page is in `language` (its `lang`), shows no English message, and passes axe."""
    assert page.locator("html").get_attribute("lang") == language, name
    text = page.title() + "\n" + page.locator("body").inner_text()
    left = sorted({part for part, pattern in _english_patterns() if pattern.search(text)})
    assert not left, f"English left on the {language} {name} page ({page.url}): {left}"
    check_page(page, f"{language}-{name}")


def test_the_english_check_sees_english(live_server: str, page: Any) -> None:
    """The check above is not blind: the English login page fails it."""
    page.goto(f"{live_server}/portal/login")
    with pytest.raises(AssertionError, match="English left"):
        assert_translated(page, "en", "login")


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_page_a_holder_sees_is_in_their_language(
    live_server: str, page: Any, register_holder: Any, studio: Org, language: str
) -> None:
    holder = register_holder(language=language, time_zone="Europe/Madrid")
    req = studio_asks(
        live_server,
        studio,
        holder.id,
        project="Tren nocturno",
        purposes=["film_tv", "ai_training"],
        intended_use_description=DESCRIPTIONS[language],
    )
    sign_in(page, live_server, holder)
    assert_translated(page, language, "home")

    page.goto(f"{live_server}/portal/requests/{req['id']}")
    assert_translated(page, language, "request")
    page.locator("#signed_name").fill("Imogen Testperson")
    page.locator("form[action$='/accept'] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    assert_translated(page, language, "consent-accepted")

    r = httpx.post(
        f"{live_server}/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope(territories=["GB", "FR"])},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    page.goto(f"{live_server}/portal/licences/{r.json()['id']}")
    assert_translated(page, language, "licence")
    allows = page.locator("#licence-allows").inner_text()
    assert {"es": "Reino Unido y Francia", "fr": "Royaume-Uni et France"}[language] in allows

    for path, name in [
        (f"/portal/consents/{consent_id}/receipt/view", "receipt"),
        (f"/portal/consents/{consent_id}/withdraw", "withdraw"),
        ("/portal/account", "account"),
        ("/portal/references", "references"),
        ("/portal/representatives", "representatives"),
        ("/portal/verification", "verification"),
        ("/portal/account/erase", "erase"),
        ("/portal/consents/con_unknown", "error"),
    ]:
        page.goto(live_server + path)
        assert_translated(page, language, name)

    # A form refused with the page's own words (the representatives form, sent empty of a
    # valid email, answers with its errors in the language).
    page.goto(f"{live_server}/portal/representatives")
    page.locator("#rep_name").fill("Ana")
    page.locator("#rep_email").fill("not-an-address")
    page.locator("#rep_email").evaluate("e => e.type = 'text'")  # past the browser's own check
    page.locator("#rep_password").fill("a long enough passphrase")
    page.locator("#evidence_reference").fill("A-1")
    page.locator("#evidence_issued_by").fill("Notaría")
    page.locator("#evidence_issued_on").fill("2024-01-02")
    page.locator("form[action='/portal/representatives'] button[type=submit]").click()
    page.locator("#form-errors").wait_for()
    assert_translated(page, language, "representatives-refused")
    # Corrected, the person is recorded: the list says what they are in the language.
    page.locator("#rep_email").fill(f"ana-{secrets.token_hex(3)}@example.org")
    page.locator("#rep_password").fill("a long enough passphrase")
    page.locator("#kind").select_option("attorney")
    page.locator("#evidence_type").select_option("power_of_attorney")
    page.locator("form[action='/portal/representatives'] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/portal/representatives?done=added")
    listed = page.locator(".items li").first.inner_text()
    assert {"es": "apoderado", "fr": "mandataire"}[language] in listed
    assert {"es": "poder notarial", "fr": "procuration"}[language] in listed
    assert_translated(page, language, "representatives-added")

    # An uploaded reference is listed with the vocabulary's word for what it shows.
    page.goto(f"{live_server}/portal/references")
    page.locator("#attribute").select_option("face")
    page.locator("#file").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": media.jpeg_with_gps()}
    )
    page.locator("form[action='/portal/references'] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/portal/references?done=uploaded")
    assert {"es": "rostro", "fr": "visage"}[language] in page.locator(".items li").inner_text()
    assert_translated(page, language, "references-uploaded")


@pytest.mark.parametrize(
    ("accept_language", "language", "heading"),
    [("es-MX,es;q=0.9,en;q=0.5", "es", "Iniciar sesión"), ("fr-CA,fr;q=0.9", "fr", "Se connecter")],
)
def test_pages_before_sign_in_follow_the_browsers_language(
    live_server: str, browser: Any, accept_language: str, language: str, heading: str
) -> None:
    context = _browser_context(browser, extra_http_headers={"Accept-Language": accept_language})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/portal/login")
        assert page.locator("h1").inner_text() == heading
        assert_translated(page, language, "login")
        for path, name in [
            ("/portal/sign-up", "sign-up"),
            ("/portal/forgot-password", "forgot-password"),
            ("/portal/reset-password?token=abc", "reset-password"),
            ("/portal/confirm-email?token=abc", "confirm-email"),
            ("/portal/confirm-email", "confirm-email-incomplete"),
            ("/portal/invitations/accept?token=nope", "invitation-invalid"),
        ]:
            page.goto(live_server + path)
            assert_translated(page, language, name)
        # The sign-up form offers the browser's language as the holder's.
        page.goto(f"{live_server}/portal/sign-up")
        assert page.locator("#language").input_value() == language
        # Refused and answered pages are in the language too.
        page.goto(f"{live_server}/portal/forgot-password")
        page.locator("#email").fill("nobody@example.org")
        page.locator("form[action='/portal/forgot-password'] button[type=submit]").click()
        page.locator("h1").wait_for()
        assert_translated(page, language, "forgot-password-sent")
        page.goto(f"{live_server}/portal/login")
        page.locator("#email").fill("nobody@example.org")
        page.locator("#password").fill("not the password at all")
        page.locator("form[action='/portal/login'] button[type=submit]").click()
        page.locator("p.error").wait_for()
        assert_translated(page, language, "login-refused")
    finally:
        context.close()


def test_the_switcher_chooses_the_language_before_sign_in(live_server: str, page: Any) -> None:
    """An English browser picks Français in the header: the page and the next ones are French
    (the choice is kept), until Español is picked."""
    page.goto(f"{live_server}/portal/login")
    assert page.locator("html").get_attribute("lang") == "en"
    switcher = page.get_by_role("navigation", name="Read this page in")
    assert switcher.get_by_role("link", name="English").get_attribute("aria-current") == "true"
    switcher.get_by_role("link", name="Français").click()
    page.wait_for_url(f"{live_server}/portal/login?lang=fr")
    assert page.locator("h1").inner_text() == "Se connecter"
    page.get_by_role("link", name="Créer un compte").click()
    page.wait_for_url(f"{live_server}/portal/sign-up")
    assert page.locator("h1").inner_text() == "Créez votre compte"
    assert_translated(page, "fr", "sign-up-switched")
    # A page whose address carries a token keeps it when the language is switched.
    page.goto(f"{live_server}/portal/reset-password?token=tok123")
    page.get_by_role("navigation", name="Lire cette page en").get_by_role(
        "link", name="Español"
    ).click()
    page.wait_for_url("**/portal/reset-password?token=tok123&lang=es")
    assert page.locator("h1").inner_text() == "Elija una contraseña nueva"
    assert page.locator("input[name=token]").input_value() == "tok123"


def test_the_holder_changes_language_on_the_account_page(
    live_server: str, page: Any, register_holder: Any, studio: Org
) -> None:
    holder = register_holder()
    sign_in(page, live_server, holder)
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Your account").first.click()
    page.get_by_label("Language of your pages, mail and notices").select_option("fr")
    page.get_by_role("button", name="Save the language").click()
    page.wait_for_url(f"{live_server}/portal/account?done=language")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("status").inner_text() == (
        "Votre langue a été modifiée. Vos pages, vos e-mails et les avis que vous ouvrez "
        "l’utilisent désormais."
    )
    assert (
        page.get_by_label("Langue de vos pages, de vos e-mails et des avis").input_value() == "fr"
    )
    assert_translated(page, "fr", "account-language-changed")

    # Kept on the holder: signed out and in again, from an English browser, still French.
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server}/portal/login?signed_out=true")
    assert page.locator("html").get_attribute("lang") == "en"
    sign_in(page, live_server, holder)
    assert page.locator("h1").inner_text() == "Vos consentements"
    # The notice of a request opens in French too (the holder's language picks the text).
    req = studio_asks(live_server, studio, holder.id, project="Train de nuit")
    page.goto(f"{live_server}/portal/requests/{req['id']}")
    assert page.locator("#notice").get_attribute("lang") == "fr"


def test_a_forged_language_change_is_refused(
    live_server: str, page: Any, register_holder: Any
) -> None:
    holder = register_holder(language="es")
    sign_in(page, live_server, holder)
    page.goto(f"{live_server}/portal/account")
    token = page.locator("form[action='/portal/account/language'] input[name=csrf_token]")
    good = token.input_value()
    # Another site's form (no CSRF token of this session): refused, nothing changed.
    forged = page.request.post(
        f"{live_server}/portal/account/language", form={"language": "fr", "csrf_token": "x" * 64}
    )
    assert forged.status == 403
    # A language the registry does not speak: refused with the page's own words.
    unknown = page.request.post(
        f"{live_server}/portal/account/language", form={"language": "de", "csrf_token": good}
    )
    assert unknown.status == 422
    assert "Elija English, Español o Français." in unknown.text()
    page.goto(f"{live_server}/portal")
    assert page.locator("h1").inner_text() == "Sus consentimientos"
