"""Offline licence verification for render pipelines and other downstream tools.

A licence is a compact ES256 JWS (`typ: licence+jwt`) whose `status` claim points into a
status list as defined by the IETF OAuth Token Status List draft (draft-ietf-oauth-status-list):
`{"status_list": {"idx": n, "uri": "<issuer>/v1/status-lists/<id>"}}`.
The status list is itself a signed JWS (`typ: statuslist+jwt`) with `sub` (its own URI), `iat`,
`exp`, `ttl` and `status_list = {"bits": 2, "lst": base64url(zlib(bytes))}`; entry `i` sits
in byte `i * bits // 8`, least significant bits first; 0 = valid, 1 = invalid, 2 = suspended.

This module deliberately depends on nothing of the server: only the standard library,
`cryptography`/python-jose through `consent_service.crypto.signing` (itself pure) and the
scope rules of `licences/scope.py` (standard library only). Copy the three into another code
base and they keep working; `make lint` (import-linter) holds them to it.

`check_licence` runs the checks in a fixed order (form, key, signature, issuer, audience when
one is given, time, status, the holder's assurance when a level is demanded, scope) and
answers a `Verdict` with one code; the server's online check uses the very same function with
a database status lookup, so both give the same codes for the same token.
`Verifier` adds the offline sources: a JWKS and status lists, fetched over HTTP and cached for
their `ttl`, or read from files, and a bounded cache of tokens whose signature it already
checked (`KnownTokens`: time, status, audience, assurance and use are still checked on every
call). When a source cannot be had or trusted it raises `CannotCheck` (the CLI exits 2): that
is never a verdict about the licence.
"""

from __future__ import annotations

import binascii
import copy
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jose.backends.base import Key as JoseKey

from consent_service.crypto import signing
from consent_service.licences import scope as scope_rules

LICENCE_TYP = "licence+jwt"
STATUS_LIST_TYP = "statuslist+jwt"
# Tolerated clock difference between the issuer and the verifier, for nbf/exp (seconds).
CLOCK_SKEW_SECONDS = 30

# Verdict codes (API.md, "Licences").
VALID = "VALID"
EXPIRED = "EXPIRED"
NOT_YET_VALID = "NOT_YET_VALID"
REVOKED = "REVOKED"
SUSPENDED = "SUSPENDED"
SCOPE_MISMATCH = "SCOPE_MISMATCH"
AUDIENCE_MISMATCH = "AUDIENCE_MISMATCH"
INSUFFICIENT_ASSURANCE = "INSUFFICIENT_ASSURANCE"
BAD_SIGNATURE = "BAD_SIGNATURE"
UNKNOWN_KEY = "UNKNOWN_KEY"
MALFORMED = "MALFORMED"
CODES = (
    VALID,
    EXPIRED,
    NOT_YET_VALID,
    REVOKED,
    SUSPENDED,
    SCOPE_MISMATCH,
    AUDIENCE_MISMATCH,
    INSUFFICIENT_ASSURANCE,
    BAD_SIGNATURE,
    UNKNOWN_KEY,
    MALFORMED,
)
# The holder's identity assurance levels, lowest first (the registry's verification/levels.py,
# repeated here so that this module stays free of the server). A licence carries the holder's
# level when it was issued in its `holder_assurance` claim; older licences have none.
ASSURANCE_LEVELS = ("self_asserted", "document_verified", "liveness_verified")

# Status values of the Token Status List draft (section "Status Types").
STATUS_VALID = 0
STATUS_INVALID = 1
STATUS_SUSPENDED = 2

_MAX_TOKEN_CHARS = 16384
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
_MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024
_DEFAULT_JWKS_MAX_AGE = 300.0
# An unknown kid triggers a JWKS refetch (key rotation), but not more often than this.
_JWKS_REFRESH_ON_UNKNOWN_KID = 30.0


class CannotCheck(Exception):
    """A key set or status list could not be fetched, read or trusted: no verdict possible."""


class HeaderCache:
    """JWS header part (base64url text) → kid, for headers that passed the form checks.

    Every licence signed by one key carries the same header, so a verifier that sees many
    licences decodes each header once. Bounded: when full it starts over. One instance
    belongs to one verifier; sharing it between threads is safe (single dict operations).
    """

    def __init__(self, max_entries: int = 256) -> None:
        self._kids: dict[str, str] = {}
        self._max_entries = max_entries

    def kid_of(self, header_part: str) -> str | None:
        """The kid of a header seen before, or None."""
        return self._kids.get(header_part)

    def remember(self, header_part: str, kid: str) -> None:
        """Keep the kid of a header that passed the form checks."""
        if len(self._kids) >= self._max_entries:
            self._kids.clear()
        self._kids[header_part] = kid

    def __len__(self) -> int:
        return len(self._kids)


# -- the proposed use ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProposedUse:
    """What a tool is about to do with the licensed likeness; every field is optional."""

    attribute: str | None = None
    purpose: str | None = None
    territory: str | None = None
    medium: str | None = None
    project: str | None = None
    # Content categories of the output (e.g. "political_endorsement"), checked against the
    # licence's prohibited uses.
    categories: tuple[str, ...] = ()
    # When the use happens; the time checks use it instead of now (status is always current).
    at: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> ProposedUse:
        """Parse `attribute=face,purpose=film_tv,territory=GB,medium=streaming,category=x`."""
        values: dict[str, str] = {}
        categories: list[str] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not value:
                raise ValueError(f"expected name=value, got {part!r}")
            if name in ("category", "categories"):
                categories.append(value)
            elif name in ("attribute", "purpose", "territory", "medium", "project", "at"):
                values[name] = value
            else:
                raise ValueError(f"unknown use field {name!r}")
        at = _parse_time(values.pop("at")) if "at" in values else None
        return cls(categories=tuple(categories), at=at, **values)


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time needs an offset, e.g. 2027-01-01T12:00:00Z")
    return moment.astimezone(UTC)


# What each dimension of the scope is called in a reason, for one value of it.
_SINGULAR = {
    scope_rules.PROJECT: "project",
    scope_rules.TERRITORIES: "territory",
    "attributes": "attribute",
    "purposes": "purpose",
    "media": "medium",
}


def use_outside_scope(scope: Mapping[str, Any], use: ProposedUse) -> str | None:
    """Why `use` falls outside the licence `scope`, or None when it is inside.

    The containment rules are `scope.py`'s, shared with the licence service: territories
    under `WORLDWIDE`, and a use whose purpose, medium, attribute or content category is one
    of the scope's `prohibited_uses` is outside whatever else it matches.
    """
    excess = scope_rules.scope_excess(
        scope,
        attributes=() if use.attribute is None else (use.attribute,),
        purposes=() if use.purpose is None else (use.purpose,),
        media=() if use.medium is None else (use.medium,),
        territories=() if use.territory is None else (use.territory,),
        project=use.project,
        uses=[
            value
            for value in (use.purpose, use.medium, use.attribute, *use.categories)
            if value is not None
        ],
    )
    if not excess:
        return None
    first = excess[0]
    value = first.values[0]
    if first.dimension == scope_rules.PROHIBITED_USES:
        return f"{value!r} is a prohibited use"
    if first.dimension == scope_rules.PROJECT:
        return f"project {value!r} is not the licensed project"
    return f"{_SINGULAR[first.dimension]} {value!r} is not licensed"


# -- the verdict -----------------------------------------------------------------------------
def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)  # not frozen: a frozen init costs more than the checks around it
class Verdict:
    """The answer about one licence; `valid` is true only for the code `VALID`."""

    code: str
    detail: str
    checked_at: datetime
    licence_id: str | None = None
    holder_id: str | None = None
    studio_id: str | None = None
    consent_id: str | None = None
    scope: dict[str, Any] | None = None
    expires_at: datetime | None = None
    use_checked: bool = False
    holder_assurance: str | None = None

    @property
    def valid(self) -> bool:
        return self.code == VALID

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data, in the shape of `POST /v1/licences/verify`."""
        return {
            "valid": self.valid,
            "code": self.code,
            "detail": self.detail,
            "licence_id": self.licence_id,
            "holder_id": self.holder_id,
            "studio_id": self.studio_id,
            "consent_id": self.consent_id,
            "scope": self.scope,
            "expires_at": _rfc3339(self.expires_at) if self.expires_at else None,
            "checked_at": _rfc3339(self.checked_at),
            "use_checked": self.use_checked,
            "holder_assurance": self.holder_assurance,
        }


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a licence's status lives: index `idx` of the status list at `uri`."""

    uri: str
    idx: int


# A status lookup answers the draft's status value for a licence (0, 1, 2, …), or None when
# the licence is unknown to the source (treated as invalid).
StatusLookup = Callable[[str, StatusReference], int | None]
KeyLookup = Callable[[str], JoseKey | None]


def _claims_error(claims: Mapping[str, Any]) -> str | None:
    """What is wrong with the shape of licence claims (status reference aside), or None."""
    for name in ("iss", "sub", "aud", "jti", "consent"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            return f"claim {name!r} is missing or not a string"
    for name in ("iat", "nbf", "exp"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**37:
            return f"claim {name!r} is missing or not a plausible NumericDate"
    if not isinstance(claims.get("scope"), dict):
        return "claim 'scope' is missing or not an object"
    return None


def status_reference(claims: Mapping[str, Any]) -> StatusReference | None:
    """The `status.status_list` reference of licence claims, or None when it is unusable."""
    status = claims.get("status")
    ref = status.get("status_list") if isinstance(status, dict) else None
    if not isinstance(ref, dict):
        return None
    idx, uri = ref.get("idx"), ref.get("uri")
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
        return None
    return StatusReference(uri=uri, idx=idx)


@dataclass(frozen=True, slots=True)
class SignedLicence:
    """What the form, key and signature checks of one licence established (steps 1 to 3).

    Everything here depends on the token alone, so a verifier may keep it (`KnownTokens`) and
    skip the ECDSA verification the next time it sees the same token, as long as the same key
    still stands for the kid. The checks that depend on the moment, the status, the audience
    and the use (steps 4 to 9) run on every call.
    """

    kid: str
    key: JoseKey
    claims: dict[str, Any]
    ref: StatusReference
    # The claims each check reads, typed (their shapes were checked).
    jti: str
    sub: str
    aud: str
    consent: str
    nbf: int
    exp: int
    expires_at: datetime
    holder_assurance: str | None
    # The scope the use check reads: a private copy, so that a caller changing the
    # `scope` of a verdict (shared between verdicts for one token) cannot widen it.
    checked_scope: dict[str, Any]


class KnownTokens:
    """A bounded LRU cache: licence token → `SignedLicence`, for tokens whose signature held.

    A render pipeline checks the same licence once per frame; with this cache it pays the
    ECDSA verification once per token (and again whenever the key set is refreshed, since a
    hit needs the very key object it was checked with). Safe to share between threads.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[str, SignedLicence] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, token: str) -> SignedLicence | None:
        """The entry for `token`, marked as the most recently used, or None."""
        # No lock on the hot path: each OrderedDict operation is atomic under the GIL, and an
        # entry dropped by another thread between the two is simply not moved.
        entry = self._entries.get(token)
        if entry is not None:
            try:
                self._entries.move_to_end(token)
            except KeyError:
                pass
        return entry

    def remember(self, token: str, entry: SignedLicence) -> None:
        """Keep `entry`, dropping the least recently used one when full."""
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _check_signed(
    token: Any, *, key_for: KeyLookup, headers: HeaderCache | None
) -> SignedLicence | tuple[str, str]:
    """Steps 1 to 3 (form, key, signature, claim shapes): a `SignedLicence`, or (code, detail)."""
    # 1. Form: three base64url parts, a JSON header with alg ES256 (nothing else: no `none`,
    #    no HMAC), typ licence+jwt and a kid; checked before any key is touched.
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
        return MALFORMED, "not a compact JWS"
    if _COMPACT_JWS.fullmatch(token) is None:
        return MALFORMED, "not a compact JWS of base64url parts"
    header_part, payload_part, signature_part = token.split(".")
    kid = headers.kid_of(header_part) if headers is not None else None
    if kid is None:
        try:
            header = json.loads(_b64url_decode(header_part))
        except (ValueError, UnicodeDecodeError):
            return MALFORMED, "header is not base64url JSON"
        if not isinstance(header, dict) or header.get("alg") != signing.ALGORITHM:
            return MALFORMED, f"header must be a JSON object with alg {signing.ALGORITHM}"
        if header.get("typ") != LICENCE_TYP:
            return MALFORMED, f"typ must be {LICENCE_TYP}"
        kid = header.get("kid")
        if not isinstance(kid, str):
            return MALFORMED, "header has no kid"
        # Every licence signed by one key has the same header: remember the good ones.
        if headers is not None:
            headers.remember(header_part, kid)
    # 2. Key: the kid must name a published key.
    key = key_for(kid)
    if key is None:
        return UNKNOWN_KEY, "signed with a key that is not in the key set"
    # 3. Signature: ES256 over the signing input, with python-jose's key (raw r||s, 64 bytes).
    try:
        signature = _b64url_decode(signature_part)
    except ValueError:
        return MALFORMED, "signature is not base64url"
    signing_input = token[: len(header_part) + 1 + len(payload_part)].encode("ascii")
    if len(signature) != 64 or not key.verify(signing_input, signature):
        return BAD_SIGNATURE, "signature does not verify"
    try:
        claims = json.loads(_b64url_decode(payload_part))
    except (ValueError, UnicodeDecodeError):
        return MALFORMED, "payload is not base64url JSON"
    if not isinstance(claims, dict):
        return MALFORMED, "payload is not a JSON object"
    problem = _claims_error(claims)
    ref = status_reference(claims)
    if problem is None and ref is None:
        problem = "claim 'status' has no status_list reference"
    if problem is not None or ref is None:
        return MALFORMED, problem or "bad claims"
    return SignedLicence(
        kid=kid,
        key=key,
        claims=claims,
        ref=ref,
        jti=claims["jti"],
        sub=claims["sub"],
        aud=claims["aud"],
        consent=claims["consent"],
        nbf=claims["nbf"],
        exp=claims["exp"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        holder_assurance=_assurance_claim(claims),
        checked_scope=copy.deepcopy(claims["scope"]),
    )


def term_failure(moment: float, *, nbf: int, exp: int) -> tuple[str, str] | None:
    """(code, detail) when `moment` (POSIX seconds) lies outside the term [nbf, exp), else None.

    Step 5 of `check_licence`, shared with the registry's check of a recorded usage
    (usages/), so that both answer the same code with the same clock-skew leeway.
    """
    if moment + CLOCK_SKEW_SECONDS < nbf:
        return NOT_YET_VALID, "the licence is not valid yet"
    if moment - CLOCK_SKEW_SECONDS >= exp:
        return EXPIRED, "the licence has expired"
    return None


def status_failure(status: int | None) -> tuple[str, str] | None:
    """(code, detail) for a status-list value that is not valid (None: unknown), else None.

    Step 6 of `check_licence`, shared with the registry's check of a recorded usage.
    """
    if status is None:
        return REVOKED, "the issuer does not know this licence"
    if status == STATUS_SUSPENDED:
        return SUSPENDED, "the licence is suspended"
    if status != STATUS_VALID:
        return REVOKED, "the licence was revoked"
    return None


def check_licence(
    token: Any,
    *,
    key_for: KeyLookup,
    status_of: StatusLookup,
    issuer: str | None,
    use: ProposedUse | None = None,
    now: datetime | None = None,
    headers: HeaderCache | None = None,
    min_assurance: str | None = None,
    audience: str | None = None,
    known: KnownTokens | None = None,
) -> Verdict:
    """Verify a licence and answer a `Verdict`; never raises for any token value.

    `key_for(kid)` gives the public key for a kid (None when unknown); `status_of(jti, ref)`
    gives the status value; `issuer`, when given, must equal the `iss` claim; `audience`, when
    given, must equal the `aud` claim (the organisation the licence was issued to);
    `headers`, when given, remembers headers that passed the form checks; `known`, when
    given, remembers tokens whose signature held (see `KnownTokens`); `min_assurance`, when
    given (one of `ASSURANCE_LEVELS`, else ValueError), is the least `holder_assurance` the
    licence must carry. `CannotCheck` raised by a lookup passes through (it says nothing
    about the licence).
    """
    if min_assurance is not None and min_assurance not in ASSURANCE_LEVELS:
        raise ValueError(f"min_assurance must be one of {', '.join(ASSURANCE_LEVELS)}")
    checked_at = datetime.now(UTC) if now is None else now.astimezone(UTC)
    return _check(
        token,
        key_for,
        status_of,
        issuer,
        use,
        checked_at,
        checked_at.timestamp(),
        headers,
        min_assurance,
        audience,
        known,
    )


def _check(
    token: Any,
    key_for: KeyLookup,
    status_of: StatusLookup,
    issuer: str | None,
    use: ProposedUse | None,
    checked_at: datetime,
    now: float,
    headers: HeaderCache | None,
    min_assurance: str | None,
    audience: str | None,
    known: KnownTokens | None,
) -> Verdict:
    """`check_licence` with its arguments checked and the time given twice (hot path)."""
    signed = known.get(token) if known is not None and isinstance(token, str) else None
    # A known token still needs the very key it was checked with: a withdrawn key, or a
    # refreshed key set, sends it through the full check again.
    if signed is None or key_for(signed.kid) is not signed.key:
        checked = _check_signed(token, key_for=key_for, headers=headers)
        if isinstance(checked, tuple):
            return Verdict(code=checked[0], detail=checked[1], checked_at=checked_at)
        signed = checked
        if known is not None:
            known.remember(token, signed)
    claims = signed.claims
    # Positional, in field order: this runs on every check of a known token.
    found = Verdict(
        VALID,
        "the licence is valid",
        checked_at,
        signed.jti,
        signed.sub,
        signed.aud,
        signed.consent,
        claims["scope"],
        signed.expires_at,
        use is not None,
        signed.holder_assurance,
    )
    # 4. Issuer: a token signed by a trusted key for another purpose is not a licence.
    if issuer is not None and claims["iss"] != issuer:
        found.code, found.detail = MALFORMED, f"issuer is {claims['iss']!r}, expected {issuer!r}"
        return found
    # 5. Audience: a licence issued to another organisation is not the checker's to rely on.
    if audience is not None and signed.aud != audience:
        found.code = AUDIENCE_MISMATCH
        found.detail = "the licence was issued to another organisation"
        return found
    # 6. Time, at the proposed use's time when given, with a small clock-skew leeway.
    moment = use.at.timestamp() if use is not None and use.at is not None else now
    failed = term_failure(moment, nbf=signed.nbf, exp=signed.exp)
    if failed is not None:
        found.code, found.detail = failed
        return found
    # 7. Status, from the status list (offline) or the registry (online).
    status = status_of(signed.jti, signed.ref)
    if status != STATUS_VALID:
        found.code, found.detail = status_failure(status) or (REVOKED, "")
        return found
    # 8. The holder's identity assurance when the licence was issued, when one is demanded.
    if min_assurance is not None and (
        found.holder_assurance is None
        or ASSURANCE_LEVELS.index(found.holder_assurance) < ASSURANCE_LEVELS.index(min_assurance)
    ):
        found.code = INSUFFICIENT_ASSURANCE
        found.detail = (
            f"the holder's identity assurance is {found.holder_assurance or 'not stated'}, "
            f"{min_assurance} is demanded"
        )
        return found
    # 9. Scope of the proposed use.
    if use is not None:
        reason = use_outside_scope(signed.checked_scope, use)
        if reason is not None:
            found.code, found.detail = SCOPE_MISMATCH, reason
        else:
            found.detail = "the licence is valid and covers the proposed use"
    return found


def _assurance_claim(claims: Mapping[str, Any]) -> str | None:
    """The licence's `holder_assurance` claim when it names a known level, else None."""
    value = claims.get("holder_assurance")
    return value if isinstance(value, str) and value in ASSURANCE_LEVELS else None


# -- status lists ----------------------------------------------------------------------------
def _b64url_decode(text: str) -> bytes:
    # binascii directly: base64.urlsafe_b64decode costs several times more (hot path).
    return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class StatusList:
    """A verified, decompressed status list."""

    uri: str
    bits: int
    data: bytes
    issued_at: int
    expires_at: int | None
    ttl: int | None

    def status_at(self, idx: int) -> int:
        """The status value at `idx`; `CannotCheck` when the list is too short."""
        per_byte = 8 // self.bits
        byte_index, slot = divmod(idx, per_byte)
        if byte_index >= len(self.data):
            raise CannotCheck(f"index {idx} is outside the status list {self.uri}")
        return (self.data[byte_index] >> (slot * self.bits)) & ((1 << self.bits) - 1)


def decode_lst(lst: str, *, limit: int = _MAX_STATUS_LIST_BYTES) -> bytes:
    """Decompress the `lst` member: base64url without padding, then zlib (RFC 1950)."""
    try:
        compressed = _b64url_decode(lst)
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, limit)
    except (ValueError, binascii.Error, zlib.error) as exc:
        raise CannotCheck("status list bytes are not base64url zlib data") from exc
    if inflater.unconsumed_tail:
        raise CannotCheck("status list is larger than this verifier accepts")
    return data


def read_status_list(
    token: str,
    *,
    keys: Mapping[str, JoseKey],
    issuer: str | None,
    now: float | None = None,
) -> StatusList:
    """Verify a `statuslist+jwt` against `keys` and decode it; `CannotCheck` on any problem."""
    now = time.time() if now is None else now
    # 1. Signature with a key from the key set, typ statuslist+jwt.
    try:
        _header, claims = signing.verify(token.strip(), keys=dict(keys), typ=STATUS_LIST_TYP)
    except signing.SignatureError as exc:
        raise CannotCheck(f"status list does not verify: {exc} ({exc.code})") from exc
    # 2. Claims: sub (its URI), iat, the list itself; iss when we know the issuer.
    sub, iat, exp, ttl = claims.get("sub"), claims.get("iat"), claims.get("exp"), claims.get("ttl")
    body = claims.get("status_list")
    if not isinstance(sub, str) or not isinstance(iat, int) or not isinstance(body, dict):
        raise CannotCheck("status list lacks sub, iat or status_list")
    if issuer is not None and claims.get("iss") not in (None, issuer):
        raise CannotCheck(f"status list issuer is not {issuer}")
    if exp is not None and not isinstance(exp, int):
        raise CannotCheck("status list exp is not an integer")
    if ttl is not None and (not isinstance(ttl, int) or ttl < 0):
        raise CannotCheck("status list ttl is not a non-negative integer")
    # 3. Freshness: a list past its exp must not be used (draft, "Validation Rules").
    if exp is not None and now - CLOCK_SKEW_SECONDS >= exp:
        raise CannotCheck(f"status list {sub} expired: fetch a fresh one")
    bits, lst = body.get("bits"), body.get("lst")
    if bits not in (1, 2, 4, 8) or not isinstance(lst, str):
        raise CannotCheck("status list bits must be 1, 2, 4 or 8 and lst a string")
    assert isinstance(bits, int)
    return StatusList(
        uri=sub, bits=bits, data=decode_lst(lst), issued_at=iat, expires_at=exp, ttl=ttl
    )


# -- the offline verifier --------------------------------------------------------------------
Fetch = Callable[[str], tuple[bytes, dict[str, str]]]


def http_fetch(url: str, *, timeout: float = 10.0) -> tuple[bytes, dict[str, str]]:
    """GET `url` with urllib; returns (body, lower-cased headers); `CannotCheck` on failure."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise CannotCheck(f"refusing to fetch {url!r}: only http(s)")
    request = urllib.request.Request(url, headers={"User-Agent": "consent-service-verifier"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(_MAX_DOCUMENT_BYTES + 1)
            headers = {k.lower(): v for k, v in response.headers.items()}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CannotCheck(f"cannot fetch {url}: {exc}") from exc
    if len(body) > _MAX_DOCUMENT_BYTES:
        raise CannotCheck(f"{url} answered more than {_MAX_DOCUMENT_BYTES} bytes")
    return body, headers


def _max_age(headers: Mapping[str, str], default: float) -> float:
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return default


@dataclass
class _Cached:
    value: Any
    fetched_at: float
    max_age: float
    # Until when the value may be used without a look at the source: the end of its max-age,
    # or a status list's own `exp` when that comes first.
    usable_until: float = 0.0

    def __post_init__(self) -> None:
        self.usable_until = self.fetched_at + self.max_age
        expires_at = getattr(self.value, "expires_at", None)
        if isinstance(expires_at, int | float):
            self.usable_until = min(self.usable_until, float(expires_at))


@dataclass
class Verifier:
    """Verifies licences offline from a JWKS and status lists, with the same codes as online.

    Build it with `Verifier.for_issuer(url)` (fetches `<url>/.well-known/jwks.json` and the
    status lists named in licences, caching each for its `max-age`/`ttl`) or
    `Verifier.from_files(jwks_path, status_list_path)` (no network at all). One instance is
    safe to share between threads.
    """

    issuer: str | None = None
    fetch: Fetch | None = None
    clock: Callable[[], float] = time.time
    _jwks: _Cached | None = None
    _status_lists: dict[str, _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _headers: HeaderCache = field(default_factory=HeaderCache)
    # Tokens whose signature held (see `KnownTokens`); None checks every signature every time.
    known: KnownTokens | None = field(default_factory=KnownTokens)
    _checked_at: tuple[int, datetime] = (-1, datetime.min.replace(tzinfo=UTC))

    @classmethod
    def for_issuer(cls, issuer: str, *, fetch: Fetch | None = None) -> Verifier:
        """A verifier that fetches the issuer's JWKS and status lists over HTTP(S)."""
        return cls(issuer=issuer.rstrip("/"), fetch=fetch or http_fetch)

    @classmethod
    def from_documents(
        cls, *, jwks: Mapping[str, Any], status_lists: list[str], issuer: str | None = None
    ) -> Verifier:
        """A verifier with a fixed JWKS and status-list tokens, never fetching anything."""
        verifier = cls(issuer=issuer, fetch=None)
        verifier._jwks = _Cached(signing.keys_from_jwks(dict(jwks)), 0.0, float("inf"))
        for token in status_lists:
            status_list = read_status_list(token, keys=verifier._keys(), issuer=issuer)
            verifier._status_lists[status_list.uri] = _Cached(status_list, 0.0, float("inf"))
        return verifier

    @classmethod
    def from_files(cls, jwks_path: str | Path, *status_list_paths: str | Path) -> Verifier:
        """A verifier reading a JWKS file and status-list files (compact JWS text)."""
        try:
            jwks = json.loads(Path(jwks_path).read_text(encoding="utf-8"))
            tokens = [Path(p).read_text(encoding="utf-8").strip() for p in status_list_paths]
        except (OSError, ValueError) as exc:
            raise CannotCheck(f"cannot read the key set or status list: {exc}") from exc
        if not isinstance(jwks, dict):
            raise CannotCheck("the JWKS file is not a JSON object")
        return cls.from_documents(jwks=jwks, status_lists=tokens)

    # sources -----------------------------------------------------------------------------
    def _keys(self, *, refresh: bool = False) -> dict[str, JoseKey]:
        now = self.clock()
        cached = self._jwks
        stale = cached is None or now - cached.fetched_at >= cached.max_age
        if self.fetch is not None and self.issuer is not None and (stale or refresh):
            body, headers = self.fetch(f"{self.issuer}/.well-known/jwks.json")
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise CannotCheck("the JWKS is not JSON") from exc
            keys = signing.keys_from_jwks(document)
            if not keys:
                raise CannotCheck("the JWKS has no ES256 P-256 signing key")
            cached = _Cached(keys, now, _max_age(headers, _DEFAULT_JWKS_MAX_AGE))
            self._jwks = cached
        if cached is None:
            raise CannotCheck("no key set")
        keys_: dict[str, JoseKey] = cached.value
        return keys_

    def _key_for(self, kid: str) -> JoseKey | None:
        cached = self._jwks
        if cached is not None and (
            self.fetch is None or self.clock() - cached.fetched_at < cached.max_age
        ):
            known: JoseKey | None = cached.value.get(kid)
            if known is not None:  # fast path: a fresh key set that has the kid
                return known
        with self._lock:
            key = self._keys().get(kid)
            cached = self._jwks
            if (
                key is None
                and self.fetch is not None
                and cached is not None
                and self.clock() - cached.fetched_at >= _JWKS_REFRESH_ON_UNKNOWN_KID
            ):
                key = self._keys(refresh=True).get(kid)
            return key

    def _status_list(self, uri: str) -> StatusList:
        now = self.clock()
        cached = self._status_lists.get(uri)
        if cached is not None:
            current: StatusList = cached.value
            fresh = now - cached.fetched_at < cached.max_age
            if fresh and (current.expires_at is None or now < current.expires_at):
                return current
        if self.fetch is None or self.issuer is None:
            if cached is not None:  # files: the list is what it is; read_status_list checks exp
                raise CannotCheck(f"status list {uri} expired: fetch a fresh one")
            raise CannotCheck(f"no status list for {uri}")
        if not uri.startswith(self.issuer + "/"):
            raise CannotCheck(f"status list {uri} is not served by the issuer {self.issuer}")
        body, _response_headers = self.fetch(uri)
        try:
            token = body.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CannotCheck("the status list is not a compact JWS") from exc
        status_list = read_status_list(token, keys=self._keys(), issuer=self.issuer, now=now)
        if status_list.uri != uri:
            raise CannotCheck(f"status list at {uri} names itself {status_list.uri}")
        ttl = float(status_list.ttl) if status_list.ttl is not None else _DEFAULT_JWKS_MAX_AGE
        self._status_lists[uri] = _Cached(status_list, now, ttl)
        return status_list

    def _status_of(self, _jti: str, ref: StatusReference) -> int:
        cached = self._status_lists.get(ref.uri)
        if cached is not None and self.clock() < cached.usable_until:
            current: StatusList = cached.value
            return current.status_at(ref.idx)  # fast path: a fresh list
        with self._lock:
            status_list = self._status_list(ref.uri)
        if status_list.expires_at is not None and self.clock() >= status_list.expires_at:
            raise CannotCheck(f"status list {ref.uri} expired: fetch a fresh one")
        return status_list.status_at(ref.idx)

    def public_key(self, kid: str) -> JoseKey | None:
        """The issuer's public key for `kid` from the key set (other tokens the registry signs,
        e.g. usage receipts); None when unknown; `CannotCheck` when there is no key set."""
        return self._key_for(kid)

    # the check ---------------------------------------------------------------------------
    def verify(
        self,
        token: str,
        use: ProposedUse | None = None,
        *,
        audience: str | None = None,
        min_assurance: str | None = None,
    ) -> Verdict:
        """Verify one licence; raises `CannotCheck` when the key set or status list is missing.

        `audience`, when given, is the checking organisation's id: a licence issued to another
        organisation answers `AUDIENCE_MISMATCH`. A token seen before skips the signature
        check (same key, bounded cache); everything else is checked again.
        """
        if min_assurance is not None and min_assurance not in ASSURANCE_LEVELS:
            raise ValueError(f"min_assurance must be one of {', '.join(ASSURANCE_LEVELS)}")
        now = self.clock()
        # `checked_at` to the second, as verdicts show it, made once per second: the time
        # checks themselves use the exact `now`.
        second, checked_at = self._checked_at
        if second != int(now):
            second = int(now)
            checked_at = datetime.fromtimestamp(second, UTC)
            self._checked_at = (second, checked_at)
        return _check(
            token,
            self._key_for,
            self._status_of,
            self.issuer,
            use,
            checked_at,
            now,
            self._headers,
            min_assurance,
            audience,
            self.known,
        )
