"""Opaque, prefixed, random public identifiers (`hld_…`, `org_…`, `cns_…`, …).

They carry no personal data, so they may appear in licences, logs and exports
(pseudonymisation, GDPR Art. 4(5)).
"""

from __future__ import annotations

import base64
import secrets

PREFIXES = frozenset(
    {"hld", "org", "key", "adm", "req", "cns", "lic", "ref", "rep", "rcp", "sl", "evt", "lgn"}
    | {"cag"}  # collective agreements
)
# Verification: cases, their evidence objects, live-capture challenges.
PREFIXES = PREFIXES | {"vfc", "evd", "chl"}
# Outbound messages (outbox/): the webhook-id and the mail Message-ID.
PREFIXES = PREFIXES | {"msg"}
# Usages recorded under licences.
PREFIXES = PREFIXES | {"usg"}
# Webhook endpoints (webhooks/).
PREFIXES = PREFIXES | {"whe"}
# Invitations a studio mails to a person.
PREFIXES = PREFIXES | {"inv"}
# Auditors: people of an auditor organization (accounts/auditors.py).
PREFIXES = PREFIXES | {"aud"}


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    # 120 random bits, lower-case base32 without padding: 24 characters.
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return f"{prefix}_{raw}"
