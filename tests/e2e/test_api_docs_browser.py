"""/docs in a real browser with no network but the app's: the page renders, and its
Authorize button signs a holder in through the OAuth2 password flow and sends the token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import HolderAccount


@pytest.fixture
def offline_page(browser: Any, live_server: str) -> Iterator[tuple[Any, list[str]]]:
    """A page that can reach the live server only; every other request is refused and kept."""
    context = browser.new_context()
    context.set_default_timeout(20_000)
    refused: list[str] = []
    app_origin = urlsplit(live_server).netloc

    def only_the_app(route: Any) -> None:
        if urlsplit(route.request.url).netloc == app_origin:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    yield context.new_page(), refused
    context.close()


def test_swagger_ui_works_offline_and_its_authorize_button_signs_in(
    offline_page: tuple[Any, list[str]], live_server: str, holder: HolderAccount
):
    page, refused = offline_page
    page.goto(f"{live_server}/docs")
    page.locator(".opblock").first.wait_for()  # the operations rendered from /openapi.json
    assert page.locator(".opblock").count() > 50

    page.locator("button.authorize").first.click()
    page.locator("#oauth_username").fill(holder.email)
    page.locator("#oauth_password").fill(holder.password)
    with page.expect_response(lambda r: r.url.endswith("/v1/auth/token")) as signed_in:
        page.locator(".auth-container button.authorize").first.click()
    assert signed_in.value.status == 200
    page.locator("button", has_text="Logout").first.wait_for()  # "Authorized"
    page.locator("button", has_text="Close").first.click()

    # "Try it out" on GET /v1/holders/{holder_id} sends the token: 200 with the record.
    block = page.locator("#operations-holders-get_holder_v1_holders__holder_id__get")
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("input[placeholder='holder_id']").fill(holder.id)
    with page.expect_response(lambda r: f"/v1/holders/{holder.id}" in r.url) as answered:
        block.locator("button.execute").click()
    assert answered.value.status == 200
    assert refused == [], refused


def test_redoc_renders_offline(offline_page: tuple[Any, list[str]], live_server: str):
    page, refused = offline_page
    page.goto(f"{live_server}/redoc")
    page.get_by_role("heading", name="consent_service").first.wait_for()
    page.get_by_role("link", name="Download").first.wait_for()  # the document loaded
    assert refused == [], refused
