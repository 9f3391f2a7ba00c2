"""Service configuration: every value is a pydantic-settings field with the CONSENT_ prefix.

In production mode (`CONSENT_ENV=production`) the service refuses to start without a master key
and with any secret that is a known default (see `Settings.check_production`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consent_service.operator import (
    DEV_ADDRESS,
    DEV_CONTACT,
    DEV_EMAIL,
    DEV_NAME,
    DEV_PHONE,
    DEV_POLICY_URL,
    NOT_STATED,
    Operator,
)

# Values that appear in examples (docker-compose.yml, docs) and must never protect real data.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
        "insecure-development-master-key",
        "minioadmin",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }
)


class Environment(StrEnum):
    development = "development"
    production = "production"


class ConfigurationError(RuntimeError):
    """The configuration cannot run the service safely; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENT_", env_file=None, extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file consent.db in data_dir"
    )
    keystore_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the key store (holders' wrapped data keys, apart from the data);"
            " default: beside the database (SQLite <stem>.keystore.db, PostgreSQL <db>_keystore)"
        ),
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="base64 (standard or url-safe) encoding of 32 random bytes",
    )
    issuer: str = "http://127.0.0.1:8000"

    # argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    # At most this many argon2 runs at once, at a lower CPU priority (accounts/passwords.py).
    argon2_concurrency: int = Field(default=2, ge=1)
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    # Default lifetime of new admin and auditor API keys, in days (0: no default expiry).
    # Studio and verifier keys expire only when their creator asks (docs/operations.md).
    admin_key_ttl_days: int = Field(default=90, ge=0, le=3650)
    auditor_key_ttl_days: int = Field(default=365, ge=0, le=3650)
    # The retention schedule (docs/operations.md, "Retention"), applied by
    # `consent-service retention apply`: evidence of a decided case (approved, rejected,
    # withdrawn) this many days after the decision; evidence of a case still pending this many
    # days after upload (BIPA section 15(a): at most 3 years); usage rows this many days after
    # they were recorded. Their audit events stay.
    evidence_retention_days: int = Field(default=30, ge=0, le=1095)
    pending_evidence_retention_days: int = Field(default=365, ge=0, le=1095)
    usage_retention_days: int = Field(default=2190, ge=0, le=36500)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    status_list_ttl_seconds: int = Field(default=300, ge=1)
    verify_rate_limit_per_minute: int = Field(default=600, ge=1)
    # Redis shared by all replicas for the throttles below (redis://host:6379/0); unset: each
    # process keeps its own buckets (ops/rate_limit.py, docs/operations.md).
    redis_url: SecretStr | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto uvicorn trusts (comma-separated addresses
    # or networks, `*` for any): the proxies in front of the service. Used by `serve`.
    forwarded_allow_ips: str = "127.0.0.1"
    # Password attempts per minute, per client address and per account (each replica).
    login_attempts_per_minute: int = Field(default=10, ge=1)
    # Self-registrations per minute, per client address (each replica); admins are not counted.
    registrations_per_minute: int = Field(default=10, ge=1)
    # The serving process persists due consent expiries this often (0: only cron/writes do).
    expiry_sweep_seconds: float = Field(default=60, ge=0)
    # Mail to people (mail/): an SMTP server (smtp://user:pass@host:587 with STARTTLS,
    # smtps://... for TLS from the first byte), or, unset, a Maildir under data_dir/mail that
    # the operator reads (the embedded default). Production requires an encrypted SMTP server.
    smtp_url: SecretStr | None = None
    # A holder confirms their email address (the mailed link) before giving any consent.
    # Production refuses false; tests that are not about it turn it off.
    require_email_confirmation: bool = True
    mail_from: str = "consent_service <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    # Outbound messages (outbox/): the serving process runs one outbox worker unless this is
    # false (production runs `consent-service worker` processes instead, docs/operations.md).
    outbox_in_process: bool = True
    # Deliveries at once per worker; how long a claim lasts before another worker may retry
    # it (longer than any delivery's timeout); how often an idle worker looks for due rows.
    outbox_concurrency: int = Field(default=4, ge=1, le=64)
    outbox_lease_seconds: float = Field(default=120, gt=0)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # Retries wait base x 2^(n-1) seconds, jittered, at most the cap.
    outbox_retry_base_seconds: float = Field(default=5, gt=0)
    outbox_retry_cap_seconds: float = Field(default=3600, gt=0)
    # Webhooks (webhooks/): how long one delivery may take before it counts as failed, and
    # whether URLs may be plain http or reach loopback/private addresses (None: only outside
    # production; production always refuses them, at creation and again at delivery).
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_allow_private_urls: bool | None = None
    # After a secret rotation the old secret still signs deliveries for this long.
    webhook_secret_overlap_seconds: int = Field(default=86400, ge=0)
    log_level: str = "INFO"
    # Bearer token that Prometheus presents to scrape GET /metrics (an admin API key works
    # too). Unset: only admins may read the metrics. /metrics is never served anonymously.
    metrics_token: SecretStr | None = None

    # Reference-data vault (docs/holders.md). "local": encrypted files under data_dir/vault;
    # "s3": any S3 API through boto3 (region and credentials from the usual AWS sources).
    vault_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="e.g. MinIO's URL")
    s3_prefix: str = "vault/"
    # Upload size limits per media family, in bytes (the type is sniffed from the bytes).
    vault_max_image_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    vault_max_audio_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    vault_max_video_bytes: int = Field(default=500 * 1024 * 1024, ge=1024)
    # Memory of cleaning (vault/sanitize.py): an image is refused, before it is decoded, when
    # width x height x bytes per pixel x frames is past this. 64 MiB takes any phone photo
    # (12 MP RGBA is 48 MiB); a face or body reference needs far less.
    vault_max_decoded_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    # At most this many uploads are cleaned at once; one more waits up to
    # vault_clean_wait_seconds for a slot, then answers 503 with Retry-After.
    vault_clean_concurrency: int = Field(default=2, ge=1)
    vault_clean_wait_seconds: float = Field(default=10, ge=0)
    # C2PA manifests (docs/provenance.md). Signing: the certificate chain (PEM, the signing
    # certificate first, then intermediates) and its private key (PEM); `consent-service c2pa
    # init-ca DIR` makes a development pair. Optional RFC 3161 time-stamp authority URL.
    c2pa_cert_chain: Path | None = None
    c2pa_private_key: Path | None = None
    c2pa_tsa_url: str | None = None
    # PEM root certificates a file's C2PA signer must chain to (`c2pa verify` and
    # POST /v1/provenance/verify). Unset: the manifest's integrity is checked, not its signer.
    c2pa_trust_anchors: Path | None = None
    # The largest file POST /v1/provenance/verify accepts (streamed to a temporary file).
    provenance_max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # Master key in AWS KMS: when set, it wraps every other key instead of CONSENT_MASTER_KEY.
    kms_key_id: str | None = None
    kms_endpoint_url: str | None = Field(default=None, description="test/LocalStack endpoint")
    # The least identity assurance a holder needs to accept any consent request (a request may
    # ask for more with `min_assurance`). Unset: `self_asserted` in development,
    # `liveness_verified` in production (docs/operations.md, docs/verification.md).
    min_assurance: Literal["self_asserted", "document_verified", "liveness_verified"] | None = None
    # The origin line of the log's signed-note checkpoints (C2SP tlog-checkpoint) and the name
    # of its note key. Unset: the issuer's host and path followed by `/audit-log`.
    audit_log_origin: str | None = None
    # Witnesses whose cosignatures the registry accepts: note verifier keys
    # (`<name>+<hex key ID>+<base64 0x04 || Ed25519 key>`), separated by commas or spaces.
    audit_witnesses: str = ""
    # The registry's operator as consent receipts name it: the PII controller (Kantara Consent
    # Receipt v1.1 `piiControllers`, `policyUrl`; ISO/IEC TS 27560 `pii_controllers`). Name,
    # contact, one-line postal address, email, phone and privacy-policy URL are required in
    # production; development shows placeholders that say so (consent_service/operator.py).
    controller_name: str | None = Field(default=None, max_length=200)
    controller_contact: str | None = Field(default=None, max_length=200)
    controller_address: str | None = Field(default=None, max_length=500)
    # ISO 3166-1 alpha-2 country of that address (optional).
    controller_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    controller_email: str | None = Field(default=None, max_length=200)
    controller_phone: str | None = Field(default=None, max_length=50)
    # The controller's web site (unset: the issuer).
    controller_url: str | None = Field(default=None, max_length=500)
    # The privacy policy in force when consent is given (https:// in production).
    policy_url: str | None = Field(default=None, max_length=500)
    # Where the database, key store and vault are, as receipts state it (ISO/IEC TS 27560
    # `storage_locations`), e.g. "IE (AWS eu-west-1)". Unset: the controller's country.
    storage_location: str | None = Field(default=None, max_length=200)

    @field_validator("issuer")
    @classmethod
    def _strip_issuer(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_min_assurance(self) -> Settings:
        """The floor follows the environment unless set: production asks for a live capture."""
        if self.min_assurance is None:
            self.min_assurance = (
                "liveness_verified" if self.env is Environment.production else "self_asserted"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def webhook_private_urls_allowed(self) -> bool:
        """Plain http and loopback/private targets: never in production, else unless refused."""
        return not self.is_production and self.webhook_allow_private_urls is not False

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'consent.db').as_posix()}"

    @property
    def resolved_keystore_url(self) -> str:
        """The key store's URL: the setting, else derived from the database URL (keystore.py)."""
        if self.keystore_url:
            return self.keystore_url
        from consent_service.crypto.keystore import keystore_url_for

        return keystore_url_for(self.resolved_database_url)

    @property
    def vault_max_upload_bytes(self) -> int:
        """The largest body the upload route accepts (largest per-type limit + form overhead)."""
        return (
            max(self.vault_max_image_bytes, self.vault_max_audio_bytes, self.vault_max_video_bytes)
            + 64 * 1024
        )

    @property
    def mail_dir(self) -> Path:
        """The embedded default's Maildir (when CONSENT_SMTP_URL is unset)."""
        return self.data_dir / "mail"

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def operator(self) -> Operator:
        """The PII controller and record keeping that consent receipts state."""
        return Operator(
            name=self.controller_name or DEV_NAME,
            contact=self.controller_contact or DEV_CONTACT,
            street_address=self.controller_address or DEV_ADDRESS,
            country=self.controller_country,
            email=self.controller_email or DEV_EMAIL,
            phone=self.controller_phone or DEV_PHONE,
            url=self.controller_url or self.issuer,
            policy_url=self.policy_url or DEV_POLICY_URL,
            storage_location=self.storage_location or self.controller_country or NOT_STATED,
            vault="S3 object storage" if self.vault_backend == "s3" else "local files",
            evidence_retention_days=self.evidence_retention_days,
            pending_evidence_retention_days=self.pending_evidence_retention_days,
            usage_retention_days=self.usage_retention_days,
        )

    def check_production(self) -> None:
        """Refuse to run production with a missing or default secret."""
        if not self.is_production:
            return
        problems: list[str] = []
        if self.master_key is None and self.kms_key_id is None:
            problems.append("CONSENT_MASTER_KEY is required in production (or CONSENT_KMS_KEY_ID)")
        elif (
            self.master_key is not None
            and self.master_key.get_secret_value().strip() in KNOWN_DEFAULT_SECRETS
        ):
            problems.append("CONSENT_MASTER_KEY is a known default value; generate a new one")
        if self.database_url is None or self.database_url.startswith("sqlite"):
            problems.append("CONSENT_DATABASE_URL must name a PostgreSQL database in production")
        if not self.keystore_url:
            problems.append(
                "CONSENT_KEYSTORE_URL is required in production: a database apart from "
                "CONSENT_DATABASE_URL, backed up on its own (docs/operations.md)"
            )
        elif self.database_url and _same_database(self.keystore_url, self.database_url):
            problems.append("CONSENT_KEYSTORE_URL must name another database than the data's")
        if self.metrics_token is not None:
            metrics_token = self.metrics_token.get_secret_value().strip()
            if metrics_token in KNOWN_DEFAULT_SECRETS or len(metrics_token) < 32:
                problems.append(
                    "CONSENT_METRICS_TOKEN must be a random value of at least 32 characters"
                )
        if not self.issuer.startswith("https://"):
            problems.append("CONSENT_ISSUER must be an https:// URL in production")
        if not self.require_email_confirmation:
            problems.append("CONSENT_REQUIRE_EMAIL_CONFIRMATION=false is refused in production")
        if self.smtp_url is None:
            problems.append("CONSENT_SMTP_URL is required in production (mail to people)")
        else:
            from consent_service.mail.transport import InvalidSmtpUrl, SmtpTransport

            try:
                smtp = SmtpTransport.from_url(self.smtp_url.get_secret_value())
            except InvalidSmtpUrl as exc:
                problems.append(str(exc))
            else:
                if not smtp.encrypted and not smtp.loopback:
                    problems.append(
                        "CONSENT_SMTP_URL must use STARTTLS or smtps:// in production "
                        "(a relay without TLS only on loopback)"
                    )
        problems.extend(self._controller_problems())
        if self.vault_backend == "s3" and not self.s3_bucket:
            problems.append("CONSENT_S3_BUCKET is required with CONSENT_VAULT_BACKEND=s3")
        if problems:
            raise ConfigurationError("; ".join(problems))

    def _controller_problems(self) -> list[str]:
        """Consent receipts must name a real controller in production (Kantara CR v1.1)."""
        required = {
            "CONSENT_CONTROLLER_NAME": self.controller_name,
            "CONSENT_CONTROLLER_CONTACT": self.controller_contact,
            "CONSENT_CONTROLLER_ADDRESS": self.controller_address,
            "CONSENT_CONTROLLER_EMAIL": self.controller_email,
            "CONSENT_CONTROLLER_PHONE": self.controller_phone,
            "CONSENT_POLICY_URL": self.policy_url,
        }
        missing = [name for name, value in required.items() if not (value or "").strip()]
        problems = []
        if missing:
            problems.append(
                f"{', '.join(missing)} "
                + ("is" if len(missing) == 1 else "are")
                + " required in production: consent receipts name the controller "
                "(docs/operations.md, 'Consent receipts')"
            )
        if self.controller_email and "@" not in self.controller_email:
            problems.append("CONSENT_CONTROLLER_EMAIL must be an email address")
        if self.policy_url and not self.policy_url.startswith("https://"):
            problems.append("CONSENT_POLICY_URL must be an https:// URL in production")
        return problems


def _same_database(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url

    ua, ub = make_url(a), make_url(b)
    return (ua.host, ua.port, ua.database) == (ub.host, ub.port, ub.database)


@lru_cache
def get_settings() -> Settings:
    return Settings()
