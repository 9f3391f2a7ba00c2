"""Signing out of the portal revokes the access token behind the session, not only the cookie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from consent_service.accounts.models import RevokedToken
from consent_service.portal.session import SESSION_COOKIE
from tests.conftest import HolderAccount, bearer, login
from tests.portal.conftest import Portal


def test_sign_out_revokes_the_token_for_cookie_and_bearer_alike(
    client: TestClient,
    open_portal: Callable[..., Portal],
    holder: HolderAccount,
):
    portal = open_portal()
    assert portal.login(holder.email, holder.password).status_code == 303
    token = portal.http.cookies.get(SESSION_COOKIE)
    assert token
    me = f"/v1/holders/{holder.id}"
    assert client.get(me, headers=bearer(token)).status_code == 200
    # A second sign-in (another browser, or the API) is a different token.
    other = open_portal()
    assert other.login(holder.email, holder.password).status_code == 303
    api_token = login(client, holder.email, holder.password)

    r = portal.submit("/portal/logout")
    assert r.status_code == 303

    # The old token is refused as a bearer on the API…
    r = client.get(me, headers=bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert r.headers["content-type"] == "application/problem+json"
    # …and as a cookie put back by hand: the portal sends the browser to the login page.
    stale = open_portal()
    stale.http.cookies.set(SESSION_COOKIE, token, domain="testserver", path="/portal")
    r = stale.get("/portal")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    r = stale.http.post("/portal/logout", data={"csrf_token": portal.csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    # Only that session ended: the holder's other sessions and tokens still work.
    assert other.get("/portal").status_code == 200
    assert client.get(me, headers=bearer(api_token)).status_code == 200


def test_revocations_of_expired_tokens_are_pruned_at_the_next_sign_out(
    db_session: Session, open_portal: Callable[..., Portal], holder: HolderAccount
):
    now = datetime.now(UTC)
    db_session.add(RevokedToken(jti="old-token", expires_at=now - timedelta(seconds=1)))
    db_session.add(RevokedToken(jti="live-token", expires_at=now + timedelta(minutes=5)))
    db_session.commit()
    portal = open_portal()
    assert portal.login(holder.email, holder.password).status_code == 303
    assert portal.submit("/portal/logout").status_code == 303
    db_session.rollback()
    jtis = set(db_session.exec(select(RevokedToken.jti)).all())
    assert "old-token" not in jtis and "live-token" in jtis
    assert len(jtis) == 2  # the live one and the token just signed out
