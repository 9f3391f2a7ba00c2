"""Fixtures for the holder portal: a cookie-keeping browser stand-in and ready-made requests."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.auditors.conftest import make_auditor  # noqa: F401 (fixture)
from tests.conftest import HolderAccount, Org
from tests.consents.conftest import add_representative  # noqa: F401 (fixture)
from tests.licences.conftest import grant, grant_terms, licence_scope, make_grant  # noqa: F401


def hidden_field(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in the page"
    return html.unescape(match.group(1))


def notice_in_page(page: str) -> str:
    """The exact text of the page's notice, as a browser reads it (one newline after <pre>
    dropped): the preformatted notice of v1 and v2, the "exact text you sign" from v3."""
    match = re.search(r'<pre id="notice(?:-text)?"[^>]*>\n(.*?)</pre>', page, re.S)
    assert match, "no notice in the page"
    return html.unescape(match.group(1))


class Portal:
    """A browser stand-in: keeps the portal's cookies, fills in forms, does not follow redirects."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.http = TestClient(app, base_url=base_url, follow_redirects=False)
        self.csrf = ""

    def login(
        self,
        email: str,
        password: str,
        *,
        login_path: str = "/portal/login",
        home_path: str = "/portal",
        **extra: str,
    ) -> httpx.Response:
        """Sign in with the form at `login_path` (the holder's, or the auditor's
        /portal/audit/login); on success, keep the CSRF token of the `home_path` page."""
        form = self.http.get(login_path)
        assert form.status_code == 200, form.text
        token = hidden_field(form.text, "csrf_token")
        r = self.http.post(
            login_path,
            data={"email": email, "password": password, "csrf_token": token, **extra},
        )
        if r.status_code == 303:
            home = self.http.get(home_path)
            assert home.status_code == 200, home.text
            self.csrf = hidden_field(home.text, "csrf_token")
        return r

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def submit(self, path: str, *, csrf: bool = True, **fields: str) -> httpx.Response:
        data = dict(fields)
        if csrf:
            data["csrf_token"] = self.csrf
        return self.http.post(path, data=data)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def open_portal(app: FastAPI) -> Iterator[Callable[..., Portal]]:
    opened: list[Portal] = []

    def make(base_url: str = "http://testserver") -> Portal:
        portal = Portal(app, base_url)
        opened.append(portal)
        return portal

    yield make
    for portal in opened:
        portal.close()


@pytest.fixture
def signed_in(open_portal: Callable[..., Portal], holder: HolderAccount) -> Portal:
    """A portal session of `holder`."""
    portal = open_portal()
    r = portal.login(holder.email, holder.password)
    assert r.status_code == 303, r.text
    return portal


@pytest.fixture
def ask(client: TestClient, studio: Org) -> Callable[..., dict[str, Any]]:
    """A pending consent request from `studio` (201 body), made through the API."""

    def make(holder_id: str, org: Org | None = None, **terms: Any) -> dict[str, Any]:
        r = client.post(
            "/v1/consent-requests",
            json={"holder_id": holder_id, "terms": grant_terms(**terms)},
            headers=(org or studio).headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    return make


def issue_licence(client: TestClient, studio: Org, consent_id: str) -> dict[str, Any]:
    r = client.post(
        "/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope()},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
