"""What the browser tests share: a page per test, reading mail as the person would, signing in."""

from __future__ import annotations

import mailbox
import re
from typing import Any

import httpx
from fastapi import FastAPI

from consent_service.config import Settings
from tests.conftest import HolderAccount, Org
from tests.licences.conftest import grant_terms


def deliver(app: FastAPI) -> None:
    """Run the outbox worker once (the test app does not run it in the background)."""
    app.state.services.outbox_worker().run_once()


def mailed_link(
    app: FastAPI, settings: Settings, address: str, path: str, param: str = "token"
) -> str:
    """The newest link to `path?<param>=…` in the mail delivered to `address` (the Maildir's
    new/)."""
    deliver(app)
    box = mailbox.Maildir(settings.mail_dir, create=False)
    found: list[tuple[str, str]] = []
    for key, message in box.items():
        if address not in str(message["To"]):
            continue
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        for link in re.findall(
            r"https?://\S+" + re.escape(path) + r"\?" + param + r"=[A-Za-z0-9_-]+",
            payload.decode(),
        ):
            found.append((key, link))
    assert found, f"no mail to {address} with a link to {path}"
    # Maildir names start with the delivery time: the last one is the newest.
    found.sort(key=lambda item: _delivered_at(item[0]))
    return found[-1][1]


def _delivered_at(key: str) -> tuple[int, int]:
    seconds, rest = key.split(".", 1)
    micro = re.match(r"M(\d+)", rest)
    return int(seconds), int(micro.group(1)) if micro else 0


def on_server(link: str, live_server: str) -> str:
    """A mailed link (built on the configured issuer) pointed at the live test server."""
    return live_server + "/portal" + link.split("/portal", 1)[1]


def studio_asks(live_server: str, studio: Org, holder_id: str, **terms: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{live_server}/v1/consent-requests",
        json={"holder_id": holder_id, "terms": grant_terms(**terms)},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def sign_in_as(page: Any, live_server: str, email: str, password: str) -> None:
    page.goto(f"{live_server}/portal")
    assert page.url.startswith(f"{live_server}/portal/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/portal")


def sign_in(page: Any, live_server: str, account: HolderAccount) -> None:
    sign_in_as(page, live_server, account.email, account.password)
