"""Portal sign-in, sessions, CSRF, and what it answers to the wrong people and to junk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.ops.middleware import JsonFormatter
from consent_service.portal.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import HolderAccount, Org
from tests.portal.conftest import Portal, hidden_field

PAGES = [
    "/portal",
    "/portal/requests/req_x",
    "/portal/consents/cns_x",
    "/portal/consents/cns_x/receipt",
]
FORMS = [
    "/portal/logout",
    "/portal/requests/req_x/accept",
    "/portal/requests/req_x/decline",
    "/portal/consents/cns_x/withdraw",
]


def _set_cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert headers, f"no Set-Cookie for {name}"
    return headers[0]


def test_pages_send_a_visitor_without_a_session_to_the_login_page(
    open_portal: Callable[..., Portal],
):
    portal = open_portal()
    for path in PAGES:
        r = portal.get(path)
        assert r.status_code == 303, (path, r.status_code)
        assert r.headers["location"].startswith("/portal/login"), path
    for path in FORMS:
        r = portal.submit(path, csrf=False)
        assert r.status_code == 303, (path, r.status_code)
        assert r.headers["location"].startswith("/portal/login"), path
    # After signing in the holder comes back to the page first asked for.
    assert portal.get("/portal/requests/req_x").headers["location"] == (
        "/portal/login?next=/portal/requests/req_x"
    )


def test_login_sets_an_httponly_samesite_strict_session_cookie(
    open_portal: Callable[..., Portal], holder: HolderAccount
):
    portal = open_portal()
    form = portal.get("/portal/login")
    assert 'for="email"' in form.text and 'for="password"' in form.text
    r = portal.http.post(
        "/portal/login",
        data={
            "email": holder.email,
            "password": holder.password,
            "csrf_token": hidden_field(form.text, "csrf_token"),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    cookie = _set_cookie(r, SESSION_COOKIE).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/portal" in cookie
    assert "secure" not in cookie  # plain http (development): a Secure cookie would be dropped
    assert portal.get("/portal").status_code == 200


def test_the_session_cookie_is_secure_over_https(
    open_portal: Callable[..., Portal], holder: HolderAccount
):
    portal = open_portal("https://testserver")
    form = portal.get("/portal/login")
    r = portal.http.post(
        "/portal/login",
        data={
            "email": holder.email,
            "password": holder.password,
            "csrf_token": hidden_field(form.text, "csrf_token"),
        },
    )
    assert r.status_code == 303
    assert "secure" in _set_cookie(r, SESSION_COOKIE).lower()
    assert "secure" in _set_cookie(form, LOGIN_CSRF_COOKIE).lower()


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_wrong_credentials_show_the_form_again_with_one_generic_message(
    open_portal: Callable[..., Portal], holder: HolderAccount, wrong: str
):
    portal = open_portal()
    email = "nobody@example.org" if wrong == "email" else holder.email
    password = "not the passphrase" if wrong == "password" else holder.password
    r = portal.login(email, password)
    assert r.status_code == 401
    assert "The email or password is not correct." in r.text
    assert 'name="password"' in r.text
    assert SESSION_COOKIE not in r.cookies
    assert portal.get("/portal").status_code == 303


def test_login_without_the_forms_token_is_refused(
    open_portal: Callable[..., Portal], holder: HolderAccount
):
    portal = open_portal()
    portal.get("/portal/login")  # the browser holds the token cookie, but the form omits it
    r = portal.http.post("/portal/login", data={"email": holder.email, "password": holder.password})
    assert r.status_code == 403
    assert SESSION_COOKIE not in r.cookies
    fresh = open_portal()  # and a form token without the matching cookie is refused too
    r = fresh.http.post(
        "/portal/login",
        data={"email": holder.email, "password": holder.password, "csrf_token": "x" * 43},
    )
    assert r.status_code == 403


def test_login_never_redirects_off_the_portal(
    open_portal: Callable[..., Portal], holder: HolderAccount
):
    for target in [
        "https://evil.example/",
        "//evil.example/portal",
        "/portal/../v1/holders",
        "/portal\\@evil",
        "/v1/consents",
    ]:
        portal = open_portal()
        r = portal.login(holder.email, holder.password, next=target)
        assert r.status_code == 303
        assert r.headers["location"] == "/portal", target
    portal = open_portal()
    r = portal.login(holder.email, holder.password, next="/portal/requests/req_abc")
    assert r.headers["location"] == "/portal/requests/req_abc"


def test_only_holders_may_use_the_portal(
    open_portal: Callable[..., Portal], studio: Org, admin_key: str
):
    # An API key of a studio or an admin in the cookie is not a portal session.
    for credential in [studio.key, admin_key, "not.a.token", "x" * 5000]:
        portal = open_portal()
        portal.http.cookies.set(SESSION_COOKIE, credential, domain="testserver", path="/portal")
        r = portal.get("/portal")
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


def test_logout_clears_the_session_cookie(signed_in: Portal):
    r = signed_in.submit("/portal/logout")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login?signed_out=true"
    assert "max-age=0" in _set_cookie(r, SESSION_COOKIE).lower()
    assert signed_in.get("/portal").status_code == 303
    assert "You are signed out." in signed_in.get("/portal/login?signed_out=true").text


def test_forms_without_this_sessions_csrf_token_are_refused(
    signed_in: Portal,
    open_portal: Callable[..., Portal],
    register_holder: Callable[..., HolderAccount],
):
    for path in FORMS:
        r = signed_in.submit(path, csrf=False)
        assert r.status_code == 403, path
        assert "did not come from this site" in r.text
    # Another session's token (here: another holder's) does not work either.
    other = open_portal()
    someone = register_holder()
    assert other.login(someone.email, someone.password).status_code == 303
    assert other.csrf != signed_in.csrf
    r = signed_in.http.post("/portal/logout", data={"csrf_token": other.csrf})
    assert r.status_code == 403
    assert signed_in.get("/portal").status_code == 200  # still signed in


def test_pages_are_not_cached_framed_or_scripted(signed_in: Portal):
    r = signed_in.get("/portal")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script allowed at all
    css = signed_in.get("/portal/static/portal.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_portal_pages_are_not_in_the_api_document(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/portal")]


JUNK_FORMS = [
    (b"", "application/x-www-form-urlencoded"),
    (b"csrf_token=%ZZ&&&=&signed_name=%00", "application/x-www-form-urlencoded"),
    (b'{"csrf_token": 1}', "application/json"),
    (
        b'--x\r\nContent-Disposition: form-data; name="csrf_token"; filename="a"\r\n\r\nzz\r\n',
        "multipart/form-data; boundary=x",
    ),
    (b"not multipart", "multipart/form-data"),
    (b"\xff\xfe\xfd", "application/x-www-form-urlencoded"),
    (b"signed_name=" + b"a" * 20000, "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("who", ["anonymous", "holder"])
def test_junk_form_posts_never_answer_5xx(
    app: FastAPI, open_portal: Callable[..., Portal], holder: HolderAccount, who: str
):
    portal = open_portal()
    if who == "holder":
        assert portal.login(holder.email, holder.password).status_code == 303
    for path in ["/portal/login", *FORMS]:
        for junk_id in ["x", "%00", "a" * 300, "' OR 1=1 --"]:
            url = path.replace("req_x", junk_id).replace("cns_x", junk_id)
            for body, content_type in JUNK_FORMS:
                r = portal.http.post(url, content=body, headers={"content-type": content_type})
                assert r.status_code < 500, (who, url, body[:30], r.text[:300])
    for path in PAGES:
        r = portal.get(
            path,
            params={"requests_cursor": "%%%", "consents_cursor": "x" * 600, "done": "<script>"},
        )
        assert r.status_code < 500, (path, r.text[:300])


def test_signed_in_junk_gets_html_error_pages(signed_in: Portal):
    r = signed_in.http.post(
        "/portal/requests/req_x/accept",
        content=b"csrf_token=" + signed_in.csrf.encode() + b"&notice_sha256=" + b"f" * 500,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    r = signed_in.get("/portal", params={"consents_cursor": "not-a-cursor"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    r = signed_in.get("/portal/requests/req_doesnotexist")
    assert r.status_code == 404 and "There is nothing here." in r.text


def test_no_personal_data_reaches_the_logs(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(JsonFormatter().format(record))

    handler = Collect()
    logger = logging.getLogger("consent_service")
    logger.addHandler(handler)
    try:
        fresh = Portal(signed_in.http.app)  # type: ignore[arg-type]
        assert fresh.login(holder.email, "a wrong passphrase").status_code == 401
        assert fresh.login(holder.email, holder.password).status_code == 303
        req = ask(holder.id)
        page = fresh.get(f"/portal/requests/{req['id']}")
        r = fresh.submit(
            f"/portal/requests/{req['id']}/accept",
            notice_sha256=hidden_field(page.text, "notice_sha256"),
            signed_name="Imogen Q. Testperson",
        )
        assert r.status_code == 303
        fresh.close()
    finally:
        logger.removeHandler(handler)
    assert records, "the access log recorded nothing"
    text = "\n".join(records)
    for secret in [holder.email, holder.password, "a wrong passphrase", "Imogen Q. Testperson"]:
        assert secret not in text
