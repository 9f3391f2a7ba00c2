"""The consent lifecycle as a state machine: one table of moves and one guarded `transition`.

A grant is born `active` (consents.service.accept_request) and then moves only through the
rows of `TRANSITIONS`. Every move, whoever asks for it, goes through `transition()`, which

1. locks the grant row (SELECT ... FOR UPDATE) and checks the caller sees it (else 404),
2. checks the caller may do this action (else 403 `not_permitted`) and, for a representative,
   that a verifier approved their authority (else 403 `authority_not_verified`),
3. applies a due expiry first, so the answer is about the expired grant (409; the refusal
   rolls back with the rest of the unit of work, so the sweep is what records it; erasure
   withdraws whatever is still open),
4. answers "already there" with the same state and the latest receipt (idempotency),
5. checks the from-state (else 409 `consent_not_active`),
6. changes the row, tells the listeners (`events.grant_status_changed`: licences follow the
   grant), writes the audit event and signs a receipt for the holder: one transaction.

Reads never move a grant: they show `status_now(grant, now)`. Expiry is persisted by the
sweep (`expire_due_grants`, run by `consent-service consents expire` and on a timer by
`serve`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action as AuditAction
from consent_service.consents import repository
from consent_service.consents.errors import (
    ConsentNotActive,
    ConsentNotFound,
    HolderNotVerified,
    NotPermitted,
)
from consent_service.consents.events import GrantStatusChange, grant_status_changed
from consent_service.consents.models import (
    ASSURANCE_LOWERED,
    DEATH,
    ERASURE,
    ConsentGrant,
    ConsentReceipt,
)
from consent_service.consents.receipts import (
    ReceiptEvent,
    actor_of,
    issue_receipt,
    new_receipt_id,
)
from consent_service.crypto.envelope import aad_for, encrypt
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.holders import service as holders
from consent_service.representatives import service as representatives
from consent_service.verification import service as verification
from consent_service.verification.levels import Assurance, at_least

NOT_ENDED = repository.NOT_ENDED
SYSTEM_ACTOR = "system"


def status_now(grant: ConsentGrant, now: datetime) -> str:
    """The grant's state as of `now`: an active or suspended grant past its end is expired.

    What every read shows; the stored status catches up when the sweep runs.
    """
    if grant.status in NOT_ENDED and grant.valid_until <= now:
        return "expired"
    return grant.status


def status_changed_at_now(grant: ConsentGrant, now: datetime) -> datetime:
    """When the state `status_now` shows began (the end of the term for a due expiry)."""
    if status_now(grant, now) != grant.status:
        return grant.valid_until
    return grant.status_changed_at


# -- the table ---------------------------------------------------------------------------------


class Action(StrEnum):
    withdraw = "withdraw"
    revoke = "revoke"
    suspend = "suspend"
    resume = "resume"
    expire = "expire"
    # Erasure of the holder withdraws what is still open (rights.service.erase_holder).
    erasure_withdraw = "erasure_withdraw"
    # The holder's identity assurance fell below what the grant's acceptance required.
    assurance_suspend = "assurance_suspend"
    # A recorded death ends what does not survive it (flows.death.record_death).
    end_by_death = "end_by_death"


# (principal, grant) -> None, or raises NotPermitted. None as principal is the system itself.
Guard = Callable[[Principal | None, ConsentGrant], None]


def _signer_of_this_grant(principal: Principal | None, grant: ConsentGrant) -> None:
    role = representatives.signer_role(principal) if principal is not None else None
    if role is None or (role != "self" and role != grant.signature.get("role")):
        raise NotPermitted("only the holder or the role that signed the grant may withdraw it")


def _guardian_executor_or_admin(principal: Principal | None, grant: ConsentGrant) -> None:
    if principal is None:
        raise NotPermitted("revocation is for a guardian, an executor or an admin")
    if not principal.is_admin and principal.representative_kind not in ("guardian", "executor"):
        raise NotPermitted("revocation is for a guardian, an executor or an admin")
    if principal.representative_kind == "guardian" and grant.holder_status != "minor":
        # A guardian's authority covers what was granted while the holder was a minor.
        raise NotPermitted("a guardian may revoke only what was granted for a minor")


def _holder_side_signer_or_admin(principal: Principal | None, grant: ConsentGrant) -> None:
    if principal is None or not (
        principal.is_admin or representatives.signer_role(principal) is not None
    ):
        raise NotPermitted("an agent may not suspend or resume a consent")


def _system(principal: Principal | None, grant: ConsentGrant) -> None:
    if principal is not None:
        raise NotPermitted("only the system makes this move")


def _erasure(principal: Principal | None, grant: ConsentGrant) -> None:
    """Erasure was authorised by the rights service (the holder itself or an admin)."""


def _death_recorder(principal: Principal | None, grant: ConsentGrant) -> None:
    """The death recording flow authorised the recorder (a verifier, or an executor of the
    holder whose authority a verifier approved); nobody else ends a grant by death."""
    if principal is None or not (
        principal.role is Role.verifier or principal.representative_kind == "executor"
    ):
        raise NotPermitted("only the recording of the holder's death ends a consent by death")


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    from_states: frozenset[str]
    to_state: str
    audit_action: AuditAction
    who: str  # in words, for readers and the docs
    guard: Guard
    # What the listeners do with what hangs off the grant (licences.service.cascade_grant_status).
    cascades: str
    # Callers who may not see the grant get 404 (holder side and admin; the system sees all).
    admins_see_it: bool = True
    # Persist a due expiry before this move (erasure withdraws whatever is still open).
    expires_first: bool = True


_ENDS = "active and suspended licences are revoked"
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(
            Action.withdraw,
            frozenset(NOT_ENDED),
            "withdrawn",
            AuditAction.consent_withdrawn,
            who="the holder, or the representative role that signed the grant (G Art. 7(3))",
            guard=_signer_of_this_grant,
            cascades=_ENDS,
            admins_see_it=False,  # admins revoke; withdrawal is the holder's act
        ),
        Transition(
            Action.revoke,
            frozenset(NOT_ENDED),
            "revoked",
            AuditAction.consent_revoked,
            who="a guardian (grants made for a minor), an executor, or an admin; with a reason",
            guard=_guardian_executor_or_admin,
            cascades=_ENDS,
        ),
        Transition(
            Action.suspend,
            frozenset({"active"}),
            "suspended",
            AuditAction.consent_suspended,
            who="the holder or a representative who may sign, or an admin",
            guard=_holder_side_signer_or_admin,
            cascades="active licences are suspended",
        ),
        Transition(
            Action.resume,
            frozenset({"suspended"}),
            "active",
            AuditAction.consent_resumed,
            who="the holder or a representative who may sign, or an admin",
            guard=_holder_side_signer_or_admin,
            cascades="licences the grant suspended are active again",
        ),
        Transition(
            Action.expire,
            frozenset(NOT_ENDED),
            "expired",
            AuditAction.consent_expired,
            who="the system, once valid_until has passed (end of term, 18th birthday, "
            "end of post-mortem rights)",
            guard=_system,
            cascades=_ENDS,
            expires_first=False,
        ),
        Transition(
            Action.erasure_withdraw,
            frozenset(NOT_ENDED),
            "withdrawn",
            AuditAction.consent_withdrawn,
            who="the erasure of the holder (the holder itself or an admin)",
            guard=_erasure,
            cascades=_ENDS,
            expires_first=False,
        ),
        Transition(
            Action.assurance_suspend,
            frozenset({"active"}),
            "suspended",
            AuditAction.consent_suspended,
            who="the system, when the holder's identity assurance falls below the level the "
            "grant's acceptance required (evidence withdrawn)",
            guard=_system,
            cascades="active licences are suspended",
        ),
        Transition(
            Action.end_by_death,
            frozenset(NOT_ENDED),
            "ended_by_death",
            AuditAction.consent_ended_by_death,
            who="the recording of the holder's death (a verifier, or the holder's executor "
            "whose authority a verifier approved), for every grant whose terms lack "
            "`survives_death: true`",
            guard=_death_recorder,
            cascades=_ENDS,
            # The flow runs the expiry sweep for the holder first; a grant due since is expired
            # by it, not ended by death.
            expires_first=False,
        ),
    )
}


# -- the one move ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChanged:
    grant: ConsentGrant
    revoked_licences: list[str]
    receipt: ConsentReceipt


def transition(
    session: Session,
    *,
    signer: Signer,
    grant_id: str,
    action: Action,
    principal: Principal | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> StatusChanged:
    """Apply `action` to the grant `grant_id` for `principal` (None: the system). See the module."""
    rule = TRANSITIONS[action]
    grant = _locked_visible_grant(session, grant_id, principal, rule)
    return _move(session, signer, grant, rule, principal, reason, now or utcnow())


def _move(
    session: Session,
    signer: Signer,
    grant: ConsentGrant,
    rule: Transition,
    principal: Principal | None,
    reason: str | None,
    now: datetime,
) -> StatusChanged:
    """Steps 2-6 of `transition` on a grant the caller already locked (and may see)."""
    action = rule.action
    rule.guard(principal, grant)
    representatives.require_reviewed_authority(session, principal)
    if action is Action.resume:
        _require_assurance_for_resume(session, grant)
    if rule.expires_first and status_now(grant, now) != grant.status:
        _apply(session, signer, grant, TRANSITIONS[Action.expire], None, None, now)
    if grant.status == rule.to_state:
        return StatusChanged(grant, [], latest_receipt(session, grant))
    if grant.status not in rule.from_states:
        word = "already " if rule.to_state not in NOT_ENDED else ""
        raise ConsentNotActive(f"the consent is {word}{grant.status}")
    if action is Action.expire and status_now(grant, now) != "expired":
        raise ConsentNotActive("the consent has not reached its end")
    return _apply(session, signer, grant, rule, principal, reason, now)


def _locked_visible_grant(
    session: Session, grant_id: str, principal: Principal | None, rule: Transition
) -> ConsentGrant:
    grant = repository.get_grant_for_update(session, grant_id)
    if grant is None:
        raise ConsentNotFound()
    if principal is None or rule.action in (Action.erasure_withdraw, Action.end_by_death):
        return grant
    if principal.acts_for(grant.holder_id) or (rule.admins_see_it and principal.is_admin):
        return grant
    raise ConsentNotFound()


def _apply(
    session: Session,
    signer: Signer,
    grant: ConsentGrant,
    rule: Transition,
    principal: Principal | None,
    reason: str | None,
    now: datetime,
) -> StatusChanged:
    """Move the LOCKED grant: row, listeners, audit event and receipt, one transaction."""
    actor_id = principal.actor_id if principal is not None else SYSTEM_ACTOR
    old_status = grant.status
    grant.status = rule.to_state
    grant.status_changed_at = now
    _store_reason(session, signer, grant, rule, reason)
    repository.add(session, grant)
    changed = grant_status_changed(
        session,
        GrantStatusChange(
            grant_id=grant.id,
            holder_id=grant.holder_id,
            studio_id=grant.studio_id,
            old_status=old_status,
            new_status=rule.to_state,
            actor_id=actor_id,
            reason=reason,
        ),
    )
    receipt_id = new_receipt_id()
    payload: dict[str, object] = {
        "from": old_status,
        "to": rule.to_state,
        "licences_changed": changed,
        "receipt_id": receipt_id,
        **_extra_payload(rule, principal),
    }
    if reason:
        # The reason is free text: the log keeps its hash, the grant row keeps the text.
        payload["reason_sha256"] = hashlib.sha256(reason.encode("utf-8")).hexdigest()
    receipt = _audit_and_receipt(
        session,
        signer=signer,
        grant=grant,
        receipt_id=receipt_id,
        principal=principal,
        action=rule.audit_action,
        payload=payload,
        at=now,
    )
    return StatusChanged(grant=grant, revoked_licences=changed, receipt=receipt)


def _store_reason(
    session: Session, signer: Signer, grant: ConsentGrant, rule: Transition, reason: str | None
) -> None:
    """A system move keeps its fixed cause in clear; a person's words are sealed under the
    holder's data key (like a decline reason), so erasure shreds them."""
    grant.status_reason = None
    grant.status_reason_enc = None
    if not reason:
        return
    if rule.action in CODED_REASONS:
        grant.status_reason = reason
        return
    key = signer.keyring.data_key(session, grant.holder_id)
    grant.status_reason_enc = encrypt(
        key, reason.encode("utf-8"), aad=aad_for("grant", grant.id, "status_reason")
    )


def _audit_and_receipt(
    session: Session,
    *,
    signer: Signer,
    grant: ConsentGrant,
    receipt_id: str,
    principal: Principal | None,
    action: AuditAction,
    payload: dict[str, object],
    at: datetime,
) -> ConsentReceipt:
    """The audit event of a change to the grant, then the receipt that cites it (and names
    who made the change: the principal, or the system for None)."""
    actor = actor_of(principal)
    event = audit.record(
        session,
        actor_id=principal.actor_id if principal is not None else SYSTEM_ACTOR,
        action=action,
        subjects={
            "holder_id": grant.holder_id,
            "consent_id": grant.id,
            "studio_id": grant.studio_id,
        },
        payload=payload,
    )
    holder = holders.find(session, grant.holder_id)
    studio_name = accounts.organization_name(session, grant.studio_id) or grant.studio_id
    return issue_receipt(
        session,
        signer=signer,
        grant=grant,
        receipt_id=receipt_id,
        jurisdiction=holder.jurisdiction if holder else "",
        studio_name=studio_name,
        audit_seq=event.seq,
        event=ReceiptEvent(action=action.value, actor=actor, at=at),
    )


def _extra_payload(rule: Transition, principal: Principal | None) -> dict[str, object]:
    if rule.action is Action.withdraw and principal is not None:
        return {"signer_role": representatives.signer_role(principal)}
    if rule.action is Action.erasure_withdraw:
        return {"cause": "erasure"}
    if rule.action is Action.assurance_suspend:
        return {"cause": ASSURANCE_LOWERED}
    if rule.action is Action.end_by_death:
        return {"cause": "death"}
    return {}


# The moves whose reason is the system's own fixed vocabulary, not a person's words: these
# stay in clear (`status_reason`); every other reason is encrypted (`status_reason_enc`).
CODED_REASONS: frozenset[Action] = frozenset(
    {Action.expire, Action.erasure_withdraw, Action.assurance_suspend, Action.end_by_death}
)


def _require_assurance_for_resume(session: Session, grant: ConsentGrant) -> None:
    """A grant resumes only while the holder has the level its acceptance required."""
    required = grant.signature.get("required_assurance")
    if required is None:
        return
    level = verification.assurance_of(session, grant.holder_id)
    if not at_least(level, Assurance(required)):
        raise HolderNotVerified(
            f"this consent was given at identity assurance {required}; the holder now has "
            f"{level.value}: get verified again before resuming it",
            required_assurance=required,
            holder_assurance=level.value,
        )


def latest_receipt(session: Session, grant: ConsentGrant) -> ConsentReceipt:
    """The grant's newest receipt (what "already there" answers with, and GET .../receipt)."""
    receipt = repository.latest_receipt(session, grant.id)
    if receipt is None:  # every grant is born with one; defensive
        raise ConsentNotFound("No receipt for this consent")
    return receipt


# -- sweeps ------------------------------------------------------------------------------------


def expire_due_grants(
    session: Session,
    *,
    signer: Signer,
    now: datetime,
    holder_id: str | None = None,
    studio_id: str | None = None,
) -> list[str]:
    """Persist `expired` for every active/suspended grant whose effective end has passed.

    End of term, the 18th birthday of a minor and the end of post-mortem rights are all folded
    into `valid_until` when the grant is made, so one comparison covers them (NF). Each grant
    is locked and re-checked; listeners are told; a receipt is signed for each.
    """
    expired: list[str] = []
    for grant_id in repository.due_grant_ids(
        session, now=now, holder_id=holder_id, studio_id=studio_id
    ):
        grant = repository.get_grant_for_update(session, grant_id)
        if grant is None or grant.status not in NOT_ENDED or status_now(grant, now) != "expired":
            continue  # changed since the ids were read
        _move(session, signer, grant, TRANSITIONS[Action.expire], None, None, now)
        expired.append(grant_id)
    return expired


ENDING_NOTICE = timedelta(days=30)


def announce_ending_grants(session: Session, *, now: datetime) -> list[str]:
    """Record, once per grant, that an active grant ends within 30 days (`consent.ending_soon`).

    The event is what the holder's mail follows from (mail/service.py); it names ids and the
    end time only. Each grant is locked and re-checked, as for expiry.
    """
    told: list[str] = []
    for grant_id in repository.grants_ending_ids(session, now=now, horizon=now + ENDING_NOTICE):
        grant = repository.get_grant_for_update(session, grant_id)
        if grant is None or grant.status != "active" or grant.ending_notice_at is not None:
            continue
        grant.ending_notice_at = now
        session.add(grant)
        audit.record(
            session,
            actor_id=SYSTEM_ACTOR,
            action=AuditAction.consent_ending_soon,
            subjects={
                "holder_id": grant.holder_id,
                "consent_id": grant.id,
                "studio_id": grant.studio_id,
            },
            payload={"ends_at": rfc3339(grant.valid_until)},
        )
        told.append(grant_id)
    session.flush()
    return told


def _open_grants_locked(session: Session, holder_id: str) -> Iterator[ConsentGrant]:
    """The holder's active or suspended grants, each locked and read again: one that ended
    since the ids were read is skipped. The caller moves them with `_move` under that lock."""
    for grant_id in repository.open_grant_ids_of_holder(session, holder_id):
        grant = repository.get_grant_for_update(session, grant_id)
        if grant is not None and grant.status in NOT_ENDED:
            yield grant


def suspend_below_assurance(
    session: Session, *, signer: Signer, holder_id: str, now: datetime | None = None
) -> list[str]:
    """Suspend every ACTIVE grant of the holder whose acceptance required a level the holder
    no longer has (IDENTITY.md: down when evidence goes); return their ids.

    Called in the transaction that lowered the level (a verification case withdrawn), so the
    grants, their licences, the audit events (`cause: assurance_lowered`) and the receipts
    move with it. Grants signed by a representative recorded no required level: untouched.
    """
    level = verification.assurance_of(session, holder_id)
    suspended: list[str] = []
    now = now or utcnow()
    for grant in _open_grants_locked(session, holder_id):
        required = grant.signature.get("required_assurance")
        if grant.status != "active" or required is None:
            continue
        if at_least(level, Assurance(required)) or status_now(grant, now) != "active":
            continue
        rule = TRANSITIONS[Action.assurance_suspend]
        _move(session, signer, grant, rule, None, ASSURANCE_LOWERED, now)
        suspended.append(grant.id)
    return suspended


def withdraw_all_for_erasure(
    session: Session, *, signer: Signer, holder_id: str, principal: Principal
) -> list[str]:
    """Withdraw every active or suspended grant of a holder being erased; return their ids.

    Called by erasure inside its own transaction, before the holder key is destroyed.
    """
    withdrawn: list[str] = []
    now = utcnow()
    for grant in _open_grants_locked(session, holder_id):
        _move(session, signer, grant, TRANSITIONS[Action.erasure_withdraw], principal, ERASURE, now)
        withdrawn.append(grant.id)
    return withdrawn


def end_or_cut_for_death(
    session: Session,
    *,
    signer: Signer,
    holder_id: str,
    principal: Principal,
    post_mortem_end: datetime | None,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """What a recorded death does to the holder's open grants; returns (ended ids, cut ids).

    Called by the death recording flow inside its transaction, after the holder's date of
    death is stored. First the expiry sweep for this holder (a grant already past its end is
    `expired`, not ended by death). Then every active or suspended grant whose terms lack
    `survives_death: true` ends as `ended_by_death` (licences revoked, receipt to the estate).
    A grant that survives death keeps its state, with `valid_until` cut to `post_mortem_end`
    (the end of the post-mortem rights); where there are none (`post_mortem_end` None, or
    already past) it ends too.
    """
    expire_due_grants(session, signer=signer, now=now, holder_id=holder_id)
    ended: list[str] = []
    cut: list[str] = []
    for grant in _open_grants_locked(session, holder_id):
        survives = bool(grant.terms.get("survives_death"))
        if survives and post_mortem_end is not None and post_mortem_end > now:
            if grant.valid_until > post_mortem_end:
                _cut_valid_until(session, signer, grant, principal, post_mortem_end)
                cut.append(grant.id)
            continue
        _move(session, signer, grant, TRANSITIONS[Action.end_by_death], principal, DEATH, now)
        ended.append(grant.id)
    return ended, cut


def _cut_valid_until(
    session: Session,
    signer: Signer,
    grant: ConsentGrant,
    principal: Principal,
    until: datetime,
) -> None:
    """Shorten the LOCKED grant's effective end (terms unchanged): audit event and receipt.

    The audit payload carries no date: the new end is the date of death plus a period, so it
    would disclose the date of death; the receipt (for the estate) carries it.
    """
    grant.valid_until = until
    repository.add(session, grant)
    receipt_id = new_receipt_id()
    _audit_and_receipt(
        session,
        signer=signer,
        grant=grant,
        receipt_id=receipt_id,
        principal=principal,
        action=AuditAction.consent_cut_to_post_mortem_end,
        payload={"cause": "death", "receipt_id": receipt_id},
        at=utcnow(),
    )
