"""Mail to people: what the registry tells a holder, through the outbox (outbox/).

- `messages.py`: the texts, one function per kind of mail; only the person's name and links
  that carry nothing beyond a single-use token.
- `service.py`: `queue(...)`, called in the transaction of the change, and the audit observer
  that turns the events a holder must hear of into mail.
- `channel.py`: the outbox channel: looks the recipient up when it delivers (mail to a person
  erased meanwhile is cancelled), builds the message, hands it to the transport.
- `transport.py`: SMTP (`CONSENT_SMTP_URL`, STARTTLS or implicit TLS, credentials) or, in the
  embedded default, a Maildir folder under the data directory that the operator can read.
"""
