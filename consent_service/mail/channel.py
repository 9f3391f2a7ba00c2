"""The outbox channel "mail": find the recipient, write the message, hand it to the transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlmodel import Session

from consent_service.crypto.keyring import Keyring
from consent_service.db import utcnow
from consent_service.mail import service
from consent_service.mail.messages import Context, render
from consent_service.mail.transport import MailTransport
from consent_service.outbox.channels import Outcome
from consent_service.outbox.models import OutboxMessage

# recipient kind -> (session, keyring, id) -> (address, how to address them), or None when
# there is nobody any more (erased, deceased): the message is then cancelled, never sent.
RecipientResolver = Callable[[Session, Keyring, str], tuple[str, str] | None]
# recipient kind -> (session, id) -> the language they chose (None: English). A kind not listed
# (an invitation's address, a representative) is written to in English.
LanguageResolver = Callable[[Session, str], str | None]


class MailChannel:
    name = "mail"
    max_age = timedelta(days=2)

    def __init__(
        self,
        *,
        transport: MailTransport,
        keyring: Keyring,
        resolvers: Mapping[str, RecipientResolver],
        sender: str,
        base_url: str,
        languages: Mapping[str, LanguageResolver] | None = None,
    ) -> None:
        self.transport = transport
        self.keyring = keyring
        self.resolvers = dict(resolvers)
        self.sender = sender
        self.base_url = base_url
        self.languages = dict(languages or {})
        # Message-IDs are <msg_id@domain of the sender>.
        self.domain = sender.rsplit("@", 1)[-1].strip(" >") or "localhost"

    def prepare(self, session: Session, message: OutboxMessage) -> EmailMessage | None:
        recipient_ref = message.payload["recipient"]
        resolver = self.resolvers.get(recipient_ref["kind"])
        if resolver is None:
            return None
        found = resolver(session, self.keyring, recipient_ref["id"])
        if found is None:
            return None
        address, name = found
        find_language = self.languages.get(recipient_ref["kind"])
        language = find_language(session, recipient_ref["id"]) if find_language else None
        secrets = service.open_secrets(
            session, self.keyring, kind=message.kind, payload=message.payload
        )
        text = render(
            message.kind,
            Context(
                name=name,
                base_url=self.base_url,
                params=message.payload.get("params", {}),
                secrets=secrets,
                language=language or "en",
            ),
        )
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = formataddr((name, address))
        mail["Subject"] = text.subject
        mail["Date"] = format_datetime(utcnow())
        # The outbox id: a retried delivery carries the same Message-ID, so it can be deduped.
        mail["Message-ID"] = f"<{message.id}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        # Plain ASCII stays 7bit even with long lines (a link must survive being copied out
        # of the raw message); anything else is quoted-printable.
        mail.set_content(text.body, cte="7bit" if text.body.isascii() else "quoted-printable")
        return mail

    def send(self, prepared: EmailMessage) -> Outcome:
        return self.transport.send(prepared)

    def on_dead(self, session: Session, message: OutboxMessage) -> None:
        """Mail given up after two days is left as "dead" in the log; nobody else is told."""
