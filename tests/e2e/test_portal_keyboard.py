"""The portal by keyboard alone, in Chromium: signing in, opening a request, consenting and
suspending the consent with Tab, typing and Enter only (no mouse, no clicks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import HolderAccount, Org
from tests.e2e.helpers import studio_asks


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def focus_by_tab(page: Any, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus (fail after `limit`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab on {page.url}")


def test_a_flow_by_keyboard_alone(
    live_server: str, page: Any, register_holder: Any, studio: Org
) -> None:
    holder: HolderAccount = register_holder()
    req = studio_asks(live_server, studio, holder.id, project="Keyboard Only")
    page.goto(f"{live_server}/portal/login")
    # The first Tab reaches the skip link, which is shown when focused.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    focus_by_tab(page, "#email")
    page.keyboard.type(holder.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(holder.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/portal")

    focus_by_tab(page, f"a[href='/portal/requests/{req['id']}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}")
    focus_by_tab(page, "#signed_name")
    page.keyboard.type("Imogen Testperson")
    focus_by_tab(page, "form[action$='/accept'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/portal/consents/*")
    focus_by_tab(page, "form[action$='/suspend'] button")
    page.keyboard.press("Enter")
    page.wait_for_url("**?done=suspended")
    assert page.locator("#consent-status").inner_text() == "suspended"
