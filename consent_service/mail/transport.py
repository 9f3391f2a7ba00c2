"""Where mail goes: an SMTP server, or a Maildir folder (the embedded default).

`CONSENT_SMTP_URL` forms:
- `smtp://user:password@host:587` - STARTTLS (required on port 587 and whenever credentials are
  given; `?starttls=false` turns it off, which production refuses unless the host is loopback);
- `smtps://user:password@host:465` - TLS from the first byte;
- `smtp://127.0.0.1:2525` - a local relay without TLS or credentials (tests, a sidecar relay).
"""

from __future__ import annotations

import ipaddress
import mailbox
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from consent_service.files import private_directory
from consent_service.outbox.channels import Outcome


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> Outcome: ...

    def describe(self) -> str: ...


class InvalidSmtpUrl(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SmtpTransport:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float = 20.0
    # Tests trust their own CA; None: the system's trust store.
    cafile: str | None = None

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 20.0, cafile: str | None = None
    ) -> SmtpTransport:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise InvalidSmtpUrl("CONSENT_SMTP_URL must look like smtp://user:pass@host:587")
        implicit = parts.scheme == "smtps"
        port = parts.port or (465 if implicit else 587)
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        if "starttls" in query:
            starttls = query["starttls"] in ("1", "true", "yes", "on")
        else:
            starttls = not implicit and (port == 587 or parts.username is not None)
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=implicit,
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            cafile=cafile,
        )

    @property
    def encrypted(self) -> bool:
        return self.implicit_tls or self.starttls

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def describe(self) -> str:
        mode = "TLS" if self.implicit_tls else ("STARTTLS" if self.starttls else "no TLS")
        return f"SMTP {self.host}:{self.port} ({mode})"

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def send(self, message: EmailMessage) -> Outcome:
        try:
            smtp: smtplib.SMTP
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            # 4xx: try again later; 5xx: the server will not take it (still retried: a
            # misconfigured relay is fixed by its operator, and max_age ends the tries).
            return Outcome(ok=False, status_code=exc.smtp_code, error=f"SMTP {exc.smtp_code}")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            return Outcome(ok=False, status_code=min(codes), error="recipient refused")
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome(ok=False, error=f"SMTP unreachable: {type(exc).__name__}")
        if refused:
            return Outcome(ok=False, error="recipient refused")
        return Outcome(ok=True, status_code=250)


@dataclass(frozen=True, slots=True)
class MaildirTransport:
    """Mail kept in a Maildir (`new/` holds what arrived), readable by mutt and the like."""

    path: Path

    def describe(self) -> str:
        return f"Maildir {self.path}"

    def send(self, message: EmailMessage) -> Outcome:
        # The folder and its files are the operator's to read, nobody else's (mail names a
        # person): 0700 directories made before mailbox fills them, 0600 messages.
        private_directory(self.path)
        for sub in ("tmp", "new", "cur"):
            private_directory(self.path / sub)
        box = mailbox.Maildir(self.path, create=False)
        key = box.add(message)
        os.chmod(self.path / "new" / key, 0o600)
        return Outcome(ok=True)
