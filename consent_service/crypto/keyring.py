"""The keyring: the master key, the service keys, holders' data keys and the signing keys.

One instance lives in the app's `Services` (wiring.py). It caches only what is immutable
(unwrapped service keys, public keys by kid) or cheap to refresh (the active signing key, for
`ACTIVE_KEY_TTL` seconds, so that `consent-service keys rotate` in another process takes
effect without a restart). Holders' data keys are never cached: erasure must take effect at
once everywhere.

Service and signing keys live in the data database. Holders' data keys live in the key store
(keystore.py), a database of their own, so that a copy of the data does not carry the keys
that crypto-shredding destroys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from jose.backends.base import Key as JoseKey
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from consent_service.crypto import repository, signing
from consent_service.crypto.envelope import (
    DecryptionError,
    MasterKey,
    MasterKeyError,
    generate_key,
)
from consent_service.crypto.keystore import KeyStore
from consent_service.crypto.models import ServiceKey, SigningKey
from consent_service.db import utcnow

BLIND_INDEX = "blind-index"
CONTENT_HMAC = "content-hmac"
EVIDENCE_HMAC = "evidence-hmac"
OUTBOX_SEAL = "outbox-seal"  # seals single-use tokens inside queued mail (mail/service.py)
PORTAL_CSRF = "portal-csrf"  # binds the portal's form tokens to the signed-in session
WEBHOOK_SECRETS = "webhook-secrets"  # seals the signing secrets of webhook endpoints
# The Ed25519 seed of the audit log's signed-note key (C2SP checkpoints, audit/witness.py).
CHECKPOINT_NOTE = "checkpoint-note"
INVITATION_SEAL = "invitation-seal"  # seals an invited address while pending (invitations/)
TOTP_SEAL = "totp-seal"  # seals auditors' TOTP secrets (accounts/auditors.py)
SERVICE_KEY_PURPOSES = (
    BLIND_INDEX,
    CONTENT_HMAC,
    EVIDENCE_HMAC,
    PORTAL_CSRF,
    OUTBOX_SEAL,
    CHECKPOINT_NOTE,
    WEBHOOK_SECRETS,
    INVITATION_SEAL,
    TOTP_SEAL,
)
ACTIVE_KEY_TTL = 30.0


class KeyDestroyed(Exception):
    """The owner's data key no longer exists (the owner was erased)."""


class Keyring:
    def __init__(self, master: MasterKey, store: KeyStore) -> None:
        self.master = master
        self.store = store
        self._service_keys: dict[str, bytes] = {}
        self._public_keys: dict[str, tuple[float, JoseKey | None]] = {}
        self._active: tuple[float, str, bytes] | None = None
        self._lock = threading.Lock()

    # -- service keys -------------------------------------------------------------------
    def bootstrap(self, engine: Engine) -> None:
        """Create the service keys and a first signing key if the database has none."""
        for purpose in SERVICE_KEY_PURPOSES:
            with Session(engine) as session:
                if repository.get_service_key(session, purpose) is None:
                    session.add(
                        ServiceKey(
                            purpose=purpose,
                            wrapped=self.master.wrap(generate_key(), context=f"service:{purpose}"),
                        )
                    )
                    try:
                        session.commit()
                    except IntegrityError:  # another process created it first
                        session.rollback()
        with Session(engine) as session:
            if repository.active_signing_key(session) is None:
                self.rotate_signing_key(session)
                session.commit()

    def check_master(self, engine: Engine) -> str | None:
        """None when the master key opens the keys stored in the database, else why not.

        Start-up (`consent-service serve`) refuses to run on a reason, and `/readyz` shows it:
        a wrong `CONSENT_MASTER_KEY` (or KMS key) would otherwise fail on the first request
        that needs a key, long after the deployment looked healthy.
        """
        try:
            with Session(engine) as session:
                for purpose in SERVICE_KEY_PURPOSES:
                    row = repository.get_service_key(session, purpose)
                    if row is not None:
                        self.master.unwrap(row.wrapped, context=f"service:{purpose}")
                active = repository.active_signing_key(session)
                if active is not None:
                    self.master.unwrap(active.private_wrapped, context=f"signing:{active.kid}")
        except DecryptionError:
            return (
                "the master key does not open the keys stored in the database "
                "(wrong CONSENT_MASTER_KEY or KMS key?)"
            )
        except MasterKeyError as exc:
            return str(exc)
        return None

    def rewrap_all(
        self, session: Session, new_master: MasterKey
    ) -> tuple[dict[str, int], Callable[[], None]]:
        """Re-wrap every stored key (service, data and signing keys) under `new_master`.

        Each key is unwrapped with this keyring's master, wrapped with the new one under the
        same context, and unwrapped again to prove the new wrapping opens to the same bytes.
        Service and signing keys change in the caller's transaction; holders' data keys live
        in the key store (keystore.py), re-wrapped in its own transaction, which commits here.
        Returns (counts per kind, undo): if the caller's transaction then fails, it calls
        `undo()` to put the key store's old wrappings back. The keys themselves stay the same,
        so nothing encrypted or signed with them needs redoing.
        """

        def rewrap(wrapped: bytes, context: str) -> bytes:
            key = self.master.unwrap(wrapped, context=context)
            fresh = new_master.wrap(key, context=context)
            if new_master.unwrap(fresh, context=context) != key:
                raise MasterKeyError(f"the new master key did not round-trip {context}")
            return fresh

        counts = {"service": 0, "data": 0, "signing": 0}
        for service_row in session.exec(select(ServiceKey)):
            service_row.wrapped = rewrap(service_row.wrapped, f"service:{service_row.purpose}")
            counts["service"] += 1
        for signing_row in session.exec(select(SigningKey)):
            signing_row.private_wrapped = rewrap(
                signing_row.private_wrapped, f"signing:{signing_row.kid}"
            )
            counts["signing"] += 1
        session.flush()
        # Last, once everything in the data database re-wrapped without error.
        counts["data"], undo = self.store.rewrap(lambda w, owner: rewrap(w, f"data:{owner}"))
        return counts, undo

    def service_key(self, session: Session, purpose: str) -> bytes:
        key = self._service_keys.get(purpose)
        if key is None:
            row = repository.get_service_key(session, purpose)
            if row is None:
                raise RuntimeError(f"service key {purpose!r} missing: run the service bootstrap")
            key = self.master.unwrap(row.wrapped, context=f"service:{purpose}")
            self._service_keys[purpose] = key
        return key

    # -- holders' data keys -------------------------------------------------------------
    # The `session` argument is the caller's unit of work on the data database; the key store
    # is outside it (keystore.py says in which order the two commit).
    def create_data_key(self, session: Session, owner_id: str) -> bytes:
        """A new data key for `owner_id`, committed to the key store before the caller's data."""
        key = generate_key()
        self.store.put(owner_id, self.master.wrap(key, context=f"data:{owner_id}"))
        return key

    def data_key(self, session: Session, owner_id: str) -> bytes:
        """The owner's data key; `KeyDestroyed` once it was destroyed."""
        wrapped = self.store.get(owner_id)
        if wrapped is None:
            raise KeyDestroyed(owner_id)
        try:
            return self.master.unwrap(wrapped, context=f"data:{owner_id}")
        except DecryptionError as exc:
            raise KeyDestroyed(owner_id) from exc

    def destroy_data_keys(self, owner_ids: list[str]) -> int:
        """Destroy these owners' keys in the key store (after the data commit); idempotent."""
        return self.store.destroy(owner_ids)

    # -- signing keys -------------------------------------------------------------------
    def rotate_signing_key(self, session: Session) -> SigningKey:
        """Create a new ES256 key and make it the active one; old keys stay published."""
        private_key = signing.generate_private_key()
        jwk = signing.public_jwk_of(private_key)
        row = SigningKey(
            kid=jwk["kid"],
            public_jwk=jwk,
            private_wrapped=self.master.wrap(
                signing.private_key_to_pem(private_key), context=f"signing:{jwk['kid']}"
            ),
            activated_at=utcnow(),
        )
        session.add(row)
        session.flush()
        with self._lock:
            self._active = None
        return row

    def _active_key(self, session: Session) -> tuple[str, bytes]:
        now = time.monotonic()
        active = self._active
        if active is not None and now - active[0] < ACTIVE_KEY_TTL:
            return active[1], active[2]
        row = repository.active_signing_key(session)
        if row is None:
            raise RuntimeError("no signing key: run the service bootstrap")
        pem = self.master.unwrap(row.private_wrapped, context=f"signing:{row.kid}")
        with self._lock:
            self._active = (now, row.kid, pem)
        return row.kid, pem

    def sign(self, session: Session, payload: dict[str, Any], *, typ: str) -> str:
        """A compact JWS over `payload` with the active signing key."""
        kid, pem = self._active_key(session)
        return signing.sign(payload, private_pem=pem, kid=kid, typ=typ)

    def sign_many(self, session: Session, payloads: list[dict[str, Any]], *, typ: str) -> list[str]:
        """Compact JWS over each of `payloads` with the active signing key (one key lookup)."""
        kid, pem = self._active_key(session)
        return signing.sign_many(payloads, private_pem=pem, kid=kid, typ=typ)

    def jwks(self, session: Session) -> dict[str, Any]:
        return {
            "keys": [dict(row.public_jwk) for row in repository.published_signing_keys(session)]
        }

    def public_key(self, session: Session, kid: str) -> JoseKey | None:
        """The verification key for `kid`, cached for ACTIVE_KEY_TTL (withdrawal takes effect)."""
        now = time.monotonic()
        cached = self._public_keys.get(kid)
        if cached is not None and now - cached[0] < ACTIVE_KEY_TTL:
            return cached[1]
        row = repository.get_signing_key(session, kid)
        key = None
        if row is not None and row.withdrawn_at is None:
            key = signing.construct_public_key(row.public_jwk)
        if len(self._public_keys) > 1024:
            self._public_keys.clear()
        self._public_keys[kid] = (now, key)
        return key

    def verify(
        self, session: Session, token: str, *, typ: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a JWS made by this service; raises `signing.SignatureError`."""
        header = signing.read_header(token)
        key = self.public_key(session, header["kid"])
        keys = {header["kid"]: key} if key is not None else {}
        return signing.verify(token, keys=keys, typ=typ)


def load_master_key(settings: Any) -> MasterKey:
    """The master key named by the settings.

    `CONSENT_KMS_KEY_ID` set: the key in AWS KMS. Production: otherwise `CONSENT_MASTER_KEY`
    (checked by `Settings.check_production`). Development: that variable when set, otherwise
    the key file `<data_dir>/master.key`, created with mode 0600 on first run.
    """
    from consent_service.crypto.envelope import (
        LocalMasterKey,
        MasterKeyError,
        load_or_create_key_file,
        parse_master_key,
    )

    if getattr(settings, "kms_key_id", None):
        from consent_service.crypto.kms import KmsMasterKey

        return KmsMasterKey.from_settings(settings)
    if settings.master_key is not None:
        return LocalMasterKey(parse_master_key(settings.master_key.get_secret_value()))
    if settings.is_production:
        raise MasterKeyError("CONSENT_MASTER_KEY is required in production")
    return LocalMasterKey(load_or_create_key_file(settings.master_key_file))
