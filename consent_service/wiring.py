"""The composition root: `build_services(settings)` makes every long-lived part of the service once.

`create_app` calls it and keeps the result as `app.state.services` (beside it only the expiry
sweeper thread that the app's lifespan starts and stops); the dependencies in deps.py read
typed fields from it (`SignerDep` is `services.signer`, `SessionDep` a session from
`services.session()`). The CLI commands that
touch the database call it too, so a command and a request run on the same parts.

Nothing registers itself at import and nothing is created lazily on first use: what runs is
what this module lists. Two of those choices reach into the domains' service calls, and both
ride on the database session rather than on yet another argument to every call:

- **Grant listeners** (what a consent status change cascades to: licences today). The consent
  service announces a change with `grant_status_changed(session, change)` in the transaction
  that makes it; the listeners are bound to the session's `info` when `Services.session()`
  opens it. A status change is always made through a session, so the listeners follow the unit
  of work they act in, the consent service needs no knowledge of licences and no new
  parameter, and a session opened some other way fails loudly (`ListenersNotBound`) instead of
  silently skipping the cascade.
- **Principal resolvers** (login kind -> Principal, from holders and representatives) are
  bound the same way, for `accounts.principal_from_access_token`.
- **The outbox wake-up** (outbox/): a commit that enqueued a message wakes the in-process
  worker at once instead of at its next poll; bound the same way.
- **The media cleaner** (vault/sanitize.py: the decoded-size budget and the slots that bound
  how many uploads are cleaned at once) is bound the same way, so references and verification
  evidence share one set of slots.

Routes and the CLI obtain sessions only from `Services.session()`; tests that build state
through the services use the same method (conftest's `db_session`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import Engine
from sqlmodel import Session

from consent_service.accounts import auditors, passwords
from consent_service.accounts import service as accounts
from consent_service.audit.service import AuditObserver, bind_checkpoint_keeper, bind_observers
from consent_service.audit.witness import CheckpointKeeper, CheckpointNotes
from consent_service.config import Settings
from consent_service.consents.events import GrantStatusListener, bind_listeners
from consent_service.crypto.keyring import Keyring, load_master_key
from consent_service.crypto.keystore import KeyStore
from consent_service.crypto.signer import Signer
from consent_service.db import DEFERRED_BEGIN, make_engine
from consent_service.files import private_directory
from consent_service.holders import service as holders
from consent_service.invitations import service as invitations
from consent_service.licences import service as licences
from consent_service.licences.reading import make_read_engine
from consent_service.mail import service as mail
from consent_service.mail.channel import MailChannel
from consent_service.mail.transport import MaildirTransport, MailTransport, SmtpTransport
from consent_service.ops.rate_limit import (
    Limiter,
    LoginRateLimiters,
    RateLimiter,
    RedisRateLimiter,
)
from consent_service.outbox import service as outbox
from consent_service.outbox.channels import Channel
from consent_service.outbox.worker import Backoff, OutboxWorker
from consent_service.representatives import service as representatives
from consent_service.vault import service as vault
from consent_service.vault.sanitize import MediaCleaner
from consent_service.vault.service import LicenceLookup
from consent_service.vault.storage import Storage, storage_from_settings
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.channel import WebhookChannel

# A readiness probe of one component: None when ready, else a short reason (no secrets).
ReadinessCheck = Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class Services:
    """Every long-lived part of one running service, built once by `build_services`."""

    settings: Settings
    engine: Engine  # read-write; one request is one transaction (db.py)
    read_engine: Engine  # read-only; the verify hot path and status lists (licences/reading.py)
    keyring: Keyring
    signer: Signer
    vault_storage: Storage
    grant_listeners: tuple[GrantStatusListener, ...]
    principal_resolvers: Mapping[str, accounts.PrincipalResolver]
    licence_lookup: LicenceLookup  # the vault asks licences who may read a reference
    online_verifier: licences.OnlineVerifier
    readiness_checks: Mapping[str, ReadinessCheck]
    verify_rate_limiter: Limiter
    login_rate_limiters: LoginRateLimiters
    registration_rate_limiter: Limiter
    media_cleaner: MediaCleaner  # the one set of cleaning slots (vault/sanitize.py)
    # Outbound message channels by name ("webhook", "mail"), delivered by the outbox worker.
    outbox_channels: Mapping[str, Channel]
    # Set by a commit that enqueued a message (outbox.service.bind_wakeup).
    outbox_wakeup: threading.Event
    # Told of every audit event in its transaction: what follows from an event (mail).
    audit_observers: tuple[AuditObserver, ...]
    checkpoint_notes: CheckpointNotes  # signed-note checkpoints, witnesses (audit/witness.py)
    # PEM roots a C2PA signer must chain to (CONSENT_C2PA_TRUST_ANCHORS), read once; None: unset.
    c2pa_trust_anchors: str | None = None

    def session(self, *, writes: bool = True) -> Session:
        """A session carrying the grant listeners and the principal resolvers.

        `writes=False` (a read-only request): on SQLite its transaction begins deferred and
        takes no write lock (db.py); a write attempted through it is not serialised.
        """
        bind = self.engine if writes else self.engine.execution_options(**{DEFERRED_BEGIN: True})
        session = Session(bind, expire_on_commit=False)
        bind_listeners(session.info, self.grant_listeners)
        accounts.bind_principal_resolvers(session.info, self.principal_resolvers)
        vault.bind_media_cleaner(session.info, self.media_cleaner)
        outbox.bind_wakeup(session.info, self.outbox_wakeup)
        bind_observers(session.info, self.audit_observers)
        bind_checkpoint_keeper(session.info, CheckpointKeeper(self.signer, self.checkpoint_notes))
        return session

    def outbox_worker(self, *, concurrency: int | None = None) -> OutboxWorker:
        """A worker over this service's channels (in process, or `consent-service worker`)."""
        settings = self.settings
        return OutboxWorker(
            open_session=self.session,
            channels=self.outbox_channels,
            concurrency=concurrency or settings.outbox_concurrency,
            lease_seconds=settings.outbox_lease_seconds,
            poll_seconds=settings.outbox_poll_seconds,
            backoff=Backoff(
                base_seconds=settings.outbox_retry_base_seconds,
                cap_seconds=settings.outbox_retry_cap_seconds,
            ),
            wakeup=self.outbox_wakeup,
        )

    def read_session(self) -> Session:
        """A session on the read-only engine (nothing can be written through it), with the
        principal resolvers (sign-in asks them whether a login may still be used)."""
        session = Session(self.read_engine, expire_on_commit=False)
        accounts.bind_principal_resolvers(session.info, self.principal_resolvers)
        return session

    def close(self) -> None:
        """Release the database connections (at shutdown)."""
        self.read_engine.dispose()
        self.engine.dispose()
        self.keyring.store.close()


def _rate_limiter_factory(
    settings: Settings,
) -> tuple[Callable[[str, int], Limiter], ReadinessCheck | None]:
    """Throttles in this process, or in Redis shared by every replica (CONSENT_REDIS_URL)."""
    if settings.redis_url is None:
        return (lambda _name, per_minute: RateLimiter(per_minute)), None
    import redis

    client = redis.Redis.from_url(
        settings.redis_url.get_secret_value(), socket_timeout=0.5, socket_connect_timeout=0.5
    )

    def check() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"redis unreachable ({type(exc).__name__})"
        return None

    return (lambda name, per_minute: RedisRateLimiter(client, name, per_minute)), check


def build_services(settings: Settings) -> Services:
    """Make every part once, from `settings`; the database schema must already exist."""
    settings.check_production()
    private_directory(settings.data_dir)
    passwords.configure(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_kib,
        workers=settings.argon2_concurrency,
    )
    engine = make_engine(settings.resolved_database_url)
    keyring = Keyring(load_master_key(settings), KeyStore(settings.resolved_keystore_url))
    keyring.bootstrap(engine)
    signer = Signer(keyring=keyring, issuer=settings.issuer, operator=settings.operator)
    # Fails at start on a malformed origin or witness key, not on the first checkpoint.
    checkpoint_notes = CheckpointNotes.from_settings(settings, keyring)
    read_engine = make_read_engine(engine)
    storage = storage_from_settings(settings)

    checks: dict[str, ReadinessCheck] = {
        "master_key": lambda: keyring.check_master(engine),
        "vault": storage.check,
        "keystore": keyring.store.check,
    }
    limiter, redis_check = _rate_limiter_factory(settings)
    if redis_check is not None:
        checks["redis"] = redis_check
    master_check = getattr(keyring.master, "check", None)
    if callable(master_check):
        checks["kms"] = master_check

    trust_anchors = (
        settings.c2pa_trust_anchors.read_text(encoding="ascii")
        if settings.c2pa_trust_anchors is not None
        else None
    )

    return Services(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        keyring=keyring,
        signer=signer,
        vault_storage=storage,
        # The consent.* webhook first: a receiver learns of the withdrawal before the licence.
        grant_listeners=(webhooks.grant_status_webhook, licences.cascade_grant_status),
        principal_resolvers=MappingProxyType(
            {
                "holder": holders.resolve_login,
                "representative": representatives.resolve_login,
                "auditor": auditors.resolve_login,
            }
        ),
        licence_lookup=licences.active_licence_for_attribute,
        online_verifier=licences.OnlineVerifier(engine=read_engine, signer=signer),
        readiness_checks=MappingProxyType(checks),
        verify_rate_limiter=limiter("verify", settings.verify_rate_limit_per_minute),
        registration_rate_limiter=limiter("register", settings.registrations_per_minute),
        login_rate_limiters=LoginRateLimiters(
            by_address=limiter("login-address", settings.login_attempts_per_minute),
            by_account=limiter("login-account", settings.login_attempts_per_minute),
        ),
        media_cleaner=MediaCleaner(
            max_decoded_bytes=settings.vault_max_decoded_bytes,
            slots=settings.vault_clean_concurrency,
            wait_seconds=settings.vault_clean_wait_seconds,
        ),
        outbox_channels=MappingProxyType(_outbox_channels(settings, keyring)),
        outbox_wakeup=threading.Event(),
        audit_observers=(mail.on_audit_event,),
        c2pa_trust_anchors=trust_anchors,
        checkpoint_notes=checkpoint_notes,
    )


def _outbox_channels(settings: Settings, keyring: Keyring) -> dict[str, Channel]:
    """The delivery channels of outbound messages (webhooks, mail) this service runs."""
    channels: dict[str, Channel] = {
        "mail": MailChannel(
            transport=mail_transport(settings),
            keyring=keyring,
            resolvers={
                "holder": holders.mail_recipient,
                "representative": representatives.mail_recipient,
                invitations.RECIPIENT_KIND: invitations.mail_recipient,
            },
            sender=settings.mail_from,
            # Mail in the language the holder chose (mail/locale catalogues).
            languages={"holder": holders.language_of},
            base_url=settings.issuer,
        ),
    }
    channels[WebhookChannel.name] = WebhookChannel(
        keyring=keyring,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_private_urls_allowed,
    )
    return channels


def mail_transport(settings: Settings) -> MailTransport:
    """SMTP when CONSENT_SMTP_URL is set, else the Maildir under the data directory."""
    if settings.smtp_url is not None:
        return SmtpTransport.from_url(
            settings.smtp_url.get_secret_value(), timeout=settings.smtp_timeout_seconds
        )
    return MaildirTransport(settings.mail_dir)
