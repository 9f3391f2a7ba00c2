"""Start-up checks: a broken deployment says what is wrong in one line, not a traceback.

`consent-service serve` runs `preflight` before it starts uvicorn: the database must answer
and the master key must open the keys stored in it. A wrong master key found later (or in an
app started some other way) makes `/readyz` answer 503 with the reason, and a request that
needs a key answers a 503 problem document instead of a plain-text 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from consent_service.errors import PROBLEM_JSON

if TYPE_CHECKING:
    from consent_service.config import Settings


class StartupError(Exception):
    """Why the service cannot start, in one line for an operator."""


def describe_settings_error(exc: ValidationError) -> str:
    """A malformed CONSENT_ setting as one line: which variable, and what is wrong with it."""
    parts = []
    for error in exc.errors():
        name = "_".join(str(p) for p in error["loc"]).upper()
        parts.append(f"CONSENT_{name}: {error['msg']}")
    return "; ".join(parts)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_database_reachable(url: str) -> None:
    """`StartupError` unless the database answers (the password is never shown)."""
    from consent_service.db import check_database, make_engine

    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise StartupError(f"database URL {shown} is not usable: {_first_line(exc)}") from exc
    try:
        check_database(engine)
    except SQLAlchemyError as exc:
        raise StartupError(f"database {shown} is unreachable: {_first_line(exc)}") from exc
    finally:
        engine.dispose()


def check_master_key(settings: Settings) -> None:
    """`StartupError` unless the configured master key opens the keys in the database."""
    from consent_service.crypto.envelope import MasterKeyError
    from consent_service.crypto.keyring import Keyring, load_master_key
    from consent_service.crypto.keystore import KeyStore
    from consent_service.db import make_engine

    try:
        master = load_master_key(settings)
    except MasterKeyError as exc:
        raise StartupError(str(exc)) from exc
    store = KeyStore(settings.resolved_keystore_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        reason = Keyring(master, store).check_master(engine)
    finally:
        engine.dispose()
        store.close()
    if reason is not None:
        raise StartupError(reason)


def key_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A key that cannot be unwrapped at request time: a problem document, never plain text.

    503 `master_key_unusable` when the master key does not open the stored keys (what
    `/readyz` reports too); otherwise one ciphertext did not authenticate: 500 `internal_error`.
    Sync on purpose: the check reads the database, so Starlette runs it on a thread.
    """
    services = request.app.state.services
    if services.keyring.check_master(services.engine) is not None:
        status, code, title = 503, "master_key_unusable", "The service cannot use its keys"
        detail = "The service's master key does not open its stored keys; see /readyz"
    else:
        status, code, title = 500, "internal_error", "Internal error"
        detail = "A stored key or ciphertext could not be opened"
    return JSONResponse(
        {
            "type": f"/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        },
        status_code=status,
        media_type=PROBLEM_JSON,
    )
