"""Licences: issuance under a grant, revocation, the grant-status cascade, verification.

Rules (CONSENT_RULES.md, "Licences"): a licence is issued only to the grantee studio, only
under an `active` grant; its scope is a subset of the grant's in every dimension and never
uses a prohibited use; its term lies inside the grant's. Issuance locks the grant row, so a
withdrawal running at the same time either waits for the licence and then revokes it, or wins
and the issuance sees a grant that is no longer active.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import auditors
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.canonical import canonical_json
from consent_service.consents import of_holder as consents
from consent_service.consents import rules as consent_rules
from consent_service.consents.errors import ConsentNotActive, ConsentNotFound
from consent_service.consents.events import GrantStatusChange
from consent_service.consents.models import ConsentGrant
from consent_service.crypto.envelope import aad_for, encrypt
from consent_service.crypto.keyring import Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.deletions import service as deletions
from consent_service.errors import NotFound, RuleViolation
from consent_service.ids import new_id
from consent_service.licences import repository, verifier
from consent_service.licences import scope as scope_rules
from consent_service.licences.models import Licence, LicenceStatus, StatusList
from consent_service.licences.schemas import LicenceIssue
from consent_service.licences.status_list import (
    STATUS_BITS,
    STATUS_LIST_SIZE,
    STATUS_LIST_TYP,
    encode_lst,
    status_list_claims,
)
from consent_service.verification import service as verification
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType

LICENCE_TYP = verifier.LICENCE_TYP
_STATUS_VALUE = {
    LicenceStatus.active.value: verifier.STATUS_VALID,
    LicenceStatus.suspended.value: verifier.STATUS_SUSPENDED,
    LicenceStatus.revoked.value: verifier.STATUS_INVALID,
}


class LicenceNotFound(NotFound):
    code, title = "licence_not_found", "No such licence"


class StatusListNotFound(NotFound):
    code, title = "status_list_not_found", "No such status list"


class ScopeExceedsConsent(RuleViolation):
    code, title = "scope_exceeds_consent", "The licence scope goes beyond the consent"


class TermOutsideConsent(RuleViolation):
    code, title = "term_outside_consent", "The licence term lies outside the consent's term"


# -- scope and term rules ---------------------------------------------------------------------
def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def licence_scope_within(terms: dict[str, Any], requested: dict[str, Any]) -> dict[str, Any]:
    """The licence scope for `requested` under grant `terms`, or `ScopeExceedsConsent`.

    Every dimension must be a subset of the grant's; a grant with `WORLDWIDE` covers every
    territory, and a licence for `WORLDWIDE` needs a grant for `WORLDWIDE`. Nothing in the
    scope may be one of the grant's prohibited uses. The licence carries the grant's
    prohibited uses, so downstream checks of a proposed use can refuse them too.
    """
    scope: dict[str, Any] = {
        dimension: _unique(requested[dimension]) for dimension in scope_rules.LISTED_DIMENSIONS
    }
    scope["territories"] = _unique(requested["territories"])
    scope["project"] = requested.get("project") or terms.get("project")
    prohibited = terms.get("prohibited_uses")
    if prohibited is None:
        prohibited = list(consent_rules.DEFAULT_PROHIBITED_USES)
    excess = scope_rules.scope_excess(
        terms,
        attributes=scope["attributes"],
        purposes=scope["purposes"],
        media=scope["media"],
        territories=scope["territories"],
        project=scope["project"],
        uses=[v for d in scope_rules.LISTED_DIMENSIONS for v in scope[d]],
        prohibited=prohibited,
    )
    scope["prohibited_uses"] = list(prohibited)
    problems = [
        {"field": "scope", "prohibited": list(e.values)}
        if e.dimension == scope_rules.PROHIBITED_USES
        else {"field": f"scope.{e.dimension}", "outside": list(e.values)}
        for e in excess
    ]
    if problems:
        raise ScopeExceedsConsent(
            "Each scope dimension must be within the consent; anything else needs a new consent",
            errors=problems,
        )
    return scope


def licence_term_within(
    grant: ConsentGrant,
    *,
    valid_from: datetime | None,
    valid_until: datetime | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """(start, end) of the licence, inside the grant's term, or `TermOutsideConsent`."""
    # Whole seconds, as in the token's nbf/exp, so the record and the token agree.
    start = (valid_from or max(now, grant.valid_from)).replace(microsecond=0)
    start = max(start, grant.valid_from) if valid_from is None else start
    end = (valid_until or grant.valid_until).replace(microsecond=0)
    if start < grant.valid_from or end > grant.valid_until:
        raise TermOutsideConsent(
            "The licence must start no earlier and end no later than the consent",
            consent_valid_from=grant.valid_from.isoformat(),
            consent_valid_until=grant.valid_until.isoformat(),
        )
    if end <= start or end <= now:
        raise TermOutsideConsent("The licence must end after it starts and after now")
    return start, end


# -- status-list index allocation -------------------------------------------------------------
def allocate_status_slot(session: Session) -> tuple[StatusList, int]:
    """A random free index in the open status list, without collisions under concurrency.

    The open list's row is locked (FOR UPDATE; on SQLite the transaction already holds the
    write lock), so two issuances never draw against the same view of the list; the unique
    constraint on (list, index) is the backstop. When no list has room a new one is made;
    two requests making one at once collide on `seq` and the loser uses the winner's list.
    """
    for _attempt in range(5):
        status_list = repository.lock_open_status_list(session)
        if status_list is None:
            repository.create_status_list(
                session,
                StatusList(
                    id=new_id("sl"),
                    seq=0,
                    size=STATUS_LIST_SIZE,
                    bits=STATUS_BITS,
                    capacity=STATUS_LIST_SIZE // 2,
                ),
            )
            continue
        # At most half the list is used, so each draw is free with probability >= 1/2.
        for _draw in range(64):
            index = secrets.randbelow(status_list.size)
            if not repository.index_taken(session, status_list.id, index):
                status_list.allocated += 1
                session.add(status_list)
                return status_list, index
    raise RuntimeError("could not allocate a status-list index")


def status_list_uri(issuer: str, list_id: str) -> str:
    return f"{issuer}/v1/status-lists/{list_id}"


# -- issuance ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IssuedLicence:
    licence: Licence
    token: str
    status_list_uri: str


def issue_licence(
    *, session: Session, signer: Signer, studio: Principal, body: LicenceIssue
) -> IssuedLicence:
    """Issue a licence to the grantee studio under an active grant (see module docstring)."""
    # Lock the grant first: a concurrent withdrawal waits for this licence, then revokes it.
    grant = consents.grant_for_update(session, body.consent_id)
    if grant is None or grant.studio_id != studio.organization_id:
        raise ConsentNotFound()
    now = utcnow()
    if grant.status != "active" or grant.valid_until <= now:
        raise ConsentNotActive(
            f"Licences can only be issued under an active consent (this one is {grant.status})",
            consent_status=grant.status,
        )
    scope = licence_scope_within(grant.terms, body.scope.model_dump())
    valid_from, valid_until = licence_term_within(
        grant, valid_from=body.valid_from, valid_until=body.valid_until, now=now
    )
    status_list, index = allocate_status_slot(session)
    licence = Licence(
        id=new_id("lic"),
        consent_id=grant.id,
        holder_id=grant.holder_id,
        studio_id=grant.studio_id,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
        status_list_id=status_list.id,
        status_list_index=index,
        created_at=now,
        status_changed_at=now,
    )
    repository.add(session, licence)
    uri = status_list_uri(signer.issuer, status_list.id)
    claims = {
        "iss": signer.issuer,
        "sub": grant.holder_id,
        "aud": grant.studio_id,
        "jti": licence.id,
        "iat": int(now.timestamp()),
        "nbf": int(valid_from.timestamp()),
        "exp": int(valid_until.timestamp()),
        "consent": grant.id,
        "scope": scope,
        "status": {"status_list": {"idx": index, "uri": uri}},
        # The holder's identity assurance now (docs/verification.md); a pipeline may demand a
        # level offline (`consent-service verify --min-assurance`).
        "holder_assurance": verification.assurance_of(session, grant.holder_id).value,
    }
    token = signer.sign(session, claims, typ=LICENCE_TYP)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.licence_issued,
        subjects={
            "holder_id": grant.holder_id,
            "consent_id": grant.id,
            "licence_id": licence.id,
            "studio_id": grant.studio_id,
        },
        payload={
            "scope_sha256": hashlib.sha256(canonical_json(scope)).hexdigest(),
            "token_sha256": hashlib.sha256(token.encode("ascii")).hexdigest(),
            "status_list_id": status_list.id,
            "valid_until": int(valid_until.timestamp()),
        },
    )
    webhooks.publish(
        session,
        EventType.licence_issued,
        studio_ids=[grant.studio_id],
        data={
            "licence_id": licence.id,
            "consent_id": grant.id,
            "holder_id": grant.holder_id,
            "valid_from": rfc3339(valid_from),
            "expires_at": rfc3339(valid_until),
        },
    )
    return IssuedLicence(licence=licence, token=token, status_list_uri=uri)


# -- reading ----------------------------------------------------------------------------------
def _visibility(principal: Principal) -> tuple[str | None, str | None]:
    """(studio_id, holder_id) filters for what `principal` may see; admins and auditors see
    everything (an auditor's reads are noted for the log)."""
    if principal.role is Role.studio:
        return principal.organization_id or "-", None
    if principal.role is Role.holder:
        return None, principal.holder_id or "-"
    if principal.role in (Role.admin, Role.auditor):
        return None, None
    raise LicenceNotFound()


def get_licence(*, session: Session, principal: Principal, licence_id: str) -> Licence:
    studio_id, holder_id = _visibility(principal)
    licence = repository.get_visible(session, licence_id, studio_id=studio_id, holder_id=holder_id)
    if licence is None:
        raise LicenceNotFound()
    auditors.note_read(session, principal, "licence", [licence.id])
    return licence


def list_licences(
    *,
    session: Session,
    principal: Principal,
    consent_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Licence]:
    studio_id, holder_id = _visibility(principal)
    rows = repository.list_visible(
        session,
        studio_id=studio_id,
        holder_id=holder_id,
        consent_id=consent_id,
        after=after,
        limit=limit,
    )
    # Callers ask for one row more than they show (to know if a next page exists).
    shown = rows[: limit - 1] if len(rows) == limit else rows
    auditors.note_read(session, principal, "licence", [r.id for r in shown])
    return rows


def status_now(licence: Licence, now: datetime) -> str:
    """The status a reader sees: `expired` for an active licence past its end."""
    if licence.status == LicenceStatus.active.value and licence.valid_until <= now:
        return "expired"
    return licence.status


# -- revocation -------------------------------------------------------------------------------
def revoke_licence(
    *, session: Session, keyring: Keyring, principal: Principal, licence_id: str, reason: str
) -> Licence:
    """Revoke one licence on its own (its holder, its studio or an admin); idempotent."""
    if principal.role is Role.auditor:
        raise LicenceNotFound()  # auditors only read
    licence = get_licence(session=session, principal=principal, licence_id=licence_id)
    # Same lock order as issuance and the grant cascade (grant, then licence): no deadlock.
    consents.grant_for_update(session, licence.consent_id)
    locked = repository.get_for_update(session, licence.id)
    assert locked is not None
    if locked.status == LicenceStatus.revoked.value:
        return locked
    now = utcnow()
    old_status = locked.status
    locked.status = LicenceStatus.revoked.value
    locked.status_changed_at = now
    locked.revocation_cause = "licence_revoked"
    # Free text that may name someone: sealed under the holder's data key, shredded with it.
    locked.revocation_reason_enc = encrypt(
        keyring.data_key(session, locked.holder_id),
        reason.encode("utf-8"),
        aad=aad_for("licence", locked.id, "revocation_reason"),
    )
    locked.revoked_by = principal.actor_id
    session.add(locked)
    session.flush()
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.licence_revoked,
        subjects={
            "holder_id": locked.holder_id,
            "consent_id": locked.consent_id,
            "licence_id": locked.id,
            "studio_id": locked.studio_id,
        },
        payload={
            "old_status": old_status,
            "by_role": principal.role.value,
            "reason_sha256": hashlib.sha256(reason.encode("utf-8")).hexdigest(),
        },
    )
    _announce_status(session, [locked], LicenceStatus.revoked.value, "licence_revoked")
    return locked


def _announce_status(
    session: Session, licences: Sequence[Licence], new_status: str, cause: str
) -> None:
    """Webhooks for licences that changed (revoked, suspended, resumed), and, for revoked ones,
    the deletion acknowledgements owed by a studio that downloaded references under them."""
    event_type = _STATUS_EVENTS.get(new_status)
    for licence in licences:
        if event_type is not None:
            webhooks.publish(
                session,
                event_type,
                studio_ids=[licence.studio_id],
                data={
                    "licence_id": licence.id,
                    "consent_id": licence.consent_id,
                    "holder_id": licence.holder_id,
                    "status": new_status,
                    "cause": cause,
                },
            )
    if new_status == LicenceStatus.revoked.value and licences and cause in _DELETION_CAUSES:
        deletions.require_for_licences(
            session,
            holder_id=licences[0].holder_id,
            licence_ids=[licence.id for licence in licences],
            cause=cause,
        )


# What obliges a studio to delete what it downloaded (GDPR Art. 17: the person withdrew or the
# use was revoked); erasure adds its own (rights/service.py). A licence that simply ran out
# or ended by death does not.
_DELETION_CAUSES = frozenset({"licence_revoked", "consent_withdrawn", "consent_revoked"})

_STATUS_EVENTS = {
    LicenceStatus.revoked.value: EventType.licence_revoked,
    LicenceStatus.suspended.value: EventType.licence_suspended,
    LicenceStatus.active.value: EventType.licence_resumed,  # only a resumed consent does this
}


# -- the cascade from grant status changes ----------------------------------------------------
_CASCADE: dict[str, tuple[tuple[str, ...], str]] = {
    # grant status -> (licence statuses that change, their new status)
    "withdrawn": ((LicenceStatus.active.value, LicenceStatus.suspended.value), "revoked"),
    "revoked": ((LicenceStatus.active.value, LicenceStatus.suspended.value), "revoked"),
    "expired": ((LicenceStatus.active.value, LicenceStatus.suspended.value), "revoked"),
    "ended_by_death": ((LicenceStatus.active.value, LicenceStatus.suspended.value), "revoked"),
    "suspended": ((LicenceStatus.active.value,), "suspended"),
    "active": ((LicenceStatus.suspended.value,), "active"),
}

_CASCADE_ACTIONS = {
    "revoked": Action.licence_revoked,
    "suspended": Action.licence_suspended,
    "active": Action.licence_resumed,
}


def cascade_grant_status(session: Session, change: GrantStatusChange) -> list[str]:
    """Move every licence under the grant with it, in the caller's transaction.

    withdrawn/revoked/expired/ended_by_death: active and suspended licences become revoked;
    suspended: active licences become suspended; active again (resumed): suspended licences become
    active (only a grant suspends a licence, so one revoked on its own stays revoked).
    Returns the ids of the licences changed.
    """
    rule = _CASCADE.get(change.new_status)
    if rule is None:
        return []
    from_statuses, new_status = rule
    licences = repository.lock_licences_of_grant(session, change.grant_id, from_statuses)
    if not licences:
        return []
    now = utcnow()
    for licence in licences:
        licence.status = new_status
        licence.status_changed_at = now
        if new_status == LicenceStatus.revoked.value:
            licence.revocation_cause = f"consent_{change.new_status}"
            licence.revoked_by = change.actor_id
        session.add(licence)
    session.flush()
    ids = [licence.id for licence in licences]
    audit.record(
        session,
        actor_id=change.actor_id,
        action=_CASCADE_ACTIONS[new_status],
        subjects={
            "holder_id": change.holder_id,
            "consent_id": change.grant_id,
            "studio_id": change.studio_id,
        },
        payload={"licence_ids": ids, "consent_status": change.new_status},
    )
    cause = "consent_resumed" if new_status == "active" else f"consent_{change.new_status}"
    _announce_status(session, licences, new_status, cause)
    return ids


# -- what other domains ask of licences ------------------------------------------------------
def active_licence_for_attribute(
    session: Session, studio_id: str, holder_id: str, attribute: str
) -> str | None:
    """The id of a licence letting `studio_id` read `attribute` of `holder_id`, or None.

    The vault's question before a studio downloads a reference (wired in as its
    `LicenceLookup`): a licence covers it when it is active now (status `active`, inside its
    validity window), its grant is still active, and its scope lists the attribute.
    """
    now = utcnow()
    for licence in repository.active_of_studio_for_holder(
        session, studio_id=studio_id, holder_id=holder_id, now=now
    ):
        attributes = (licence.scope or {}).get("attributes") or []
        if attribute in attributes:
            return licence.id
    return None


def licence_for_recording(session: Session, *, studio: Principal, licence_id: str) -> Licence:
    """The studio's own licence, locked while usages are recorded under it; else LicenceNotFound.

    Locks the grant row and then the licence row, the order of issuance, revocation and the
    withdrawal cascade: a withdrawal committed before this call is seen (the licence is read
    again once its lock is held), and one that comes after it waits until the recording has
    committed. Another studio's licence is not found (404), never "forbidden".
    """
    if studio.role is not Role.studio or studio.organization_id is None:
        raise LicenceNotFound()
    found = repository.get_visible(
        session, licence_id, studio_id=studio.organization_id, holder_id=None
    )
    if found is None:
        raise LicenceNotFound()
    consents.grant_for_update(session, found.consent_id)
    locked = repository.get_for_update(session, found.id)
    if locked is None:  # pragma: no cover - licences are never deleted
        raise LicenceNotFound()
    return locked


def use_failure(
    licence: Licence, use: verifier.ProposedUse, *, now: datetime
) -> tuple[str, str] | None:
    """The verifier's (code, detail) when the stored `licence` does not allow `use`, else None.

    The checks of `verifier.check_licence` (steps 5, 6 and 8) applied to the licence record
    rather than its token: the term at the use's time (`use.at`, default `now`), the status
    as it stands now (as for a token, status is always current), then the scope.
    """
    moment = (use.at or now).timestamp()
    failed = verifier.term_failure(
        moment, nbf=int(licence.valid_from.timestamp()), exp=int(licence.valid_until.timestamp())
    )
    if failed is None:
        failed = verifier.status_failure(_STATUS_VALUE.get(licence.status, verifier.STATUS_INVALID))
    if failed is None:
        reason = verifier.use_outside_scope(licence.scope, use)
        if reason is not None:
            failed = (verifier.SCOPE_MISMATCH, reason)
    return failed


def licence_exists(session: Session, licence_id: str) -> bool:
    """Whether a licence with this id exists (an auditor's read of its usages)."""
    return repository.get(session, licence_id) is not None


def forget_clear_reasons(session: Session, holder_id: str) -> None:
    """Erasure: drop a revocation reason still in clear (written before migration 0011)."""
    for licence in repository.of_holder(session, holder_id):
        if licence.revocation_reason is not None:
            licence.revocation_reason = None
            session.add(licence)


def warn_of_expiry(session: Session, *, now: datetime, within: timedelta) -> int:
    """Enqueue `licence.expiring` once for each active licence ending within `within` of `now`
    (the sweep calls it; a licence warned of once is never warned of again)."""
    warned = 0
    for licence in repository.active_ending_between(
        session, start=now, end=now + within, limit=10_000
    ):
        if webhooks.publish_once(
            session,
            f"licence.expiring:{licence.id}",
            EventType.licence_expiring,
            studio_ids=[licence.studio_id],
            data={
                "licence_id": licence.id,
                "consent_id": licence.consent_id,
                "holder_id": licence.holder_id,
                "expires_at": rfc3339(licence.valid_until),
            },
        ):
            warned += 1
    return warned


def studios_of_holder(session: Session, holder_id: str) -> list[str]:
    """The studios holding a licence of the holder, whatever its status."""
    return sorted({licence.studio_id for licence in repository.of_holder(session, holder_id)})


def licences_of_holder(session: Session, holder_id: str) -> Sequence[Licence]:
    """Every licence of a holder, whatever its status, oldest first (the holder's export)."""
    return repository.of_holder(session, holder_id)


# -- status lists and online verification -----------------------------------------------------
def status_list_token(*, session: Session, signer: Signer, list_id: str, ttl: int) -> str:
    """The signed status list (`statuslist+jwt`) as it stands now."""
    status_list = repository.get_status_list(session, list_id)
    if status_list is None:
        raise StatusListNotFound()
    entries = (
        (index, _STATUS_VALUE.get(status, verifier.STATUS_INVALID))
        for index, status in repository.entries_not_valid(session, list_id)
    )
    lst = encode_lst(entries, size=status_list.size, bits=status_list.bits)
    claims = status_list_claims(
        issuer=signer.issuer,
        uri=status_list_uri(signer.issuer, list_id),
        lst=lst,
        bits=status_list.bits,
        ttl=ttl,
        now=utcnow(),
    )
    return signer.sign(session, claims, typ=STATUS_LIST_TYP)


class _SessionOnDemand:
    """Stands in for a Session and opens one only when used: the keyring's public-key cache
    answers most lookups without the database, and a Session costs more than the check."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._session: Session | None = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = Session(self._engine)
        return getattr(self._session, name)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


class OnlineVerifier:
    """The online check: the offline verifier's checks, with the registry as status source.

    One per app, built by the composition root (wiring.py). Public keys come from the keyring's
    cache (so a withdrawn key stops verifying within `ACTIVE_KEY_TTL`); the status is one
    primary-key lookup per verification, never cached.
    """

    def __init__(self, *, engine: Engine, signer: Signer) -> None:
        self.engine = engine
        self.signer = signer
        # Parsed headers are remembered per verifier (the signature is still checked each time).
        self.headers = verifier.HeaderCache()

    def _status_of(self, jti: str, _ref: verifier.StatusReference) -> int | None:
        status = repository.licence_status(self.engine, jti)
        return None if status is None else _STATUS_VALUE.get(status, verifier.STATUS_INVALID)

    def verify(
        self,
        token: str,
        use: verifier.ProposedUse | None,
        min_assurance: str | None = None,
        audience: str | None = None,
    ) -> verifier.Verdict:
        """A verdict for `token` (and the proposed `use`, for the `audience` organisation when
        given); never raises for any token string."""
        session = _SessionOnDemand(self.engine)
        try:
            return verifier.check_licence(
                token,
                key_for=lambda kid: self.signer.public_key(cast(Session, session), kid),
                status_of=self._status_of,
                issuer=self.signer.issuer,
                use=use,
                now=utcnow(),
                headers=self.headers,
                min_assurance=min_assurance,
                audience=audience,
            )
        finally:
            session.close()
