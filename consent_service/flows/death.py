"""Recording a holder's death: one transaction across holders, verification and consents.

`POST /v1/holders/{id}/death` (flows/router.py), multipart: `date_of_death` and the death
certificate. Who may record (IDENTITY.md "Death"):

- a `verifier` (not the holder nor one of their representatives): the death is recorded at
  once and a `death` case is created approved by that verifier;
- an executor of this holder whose `representative_authority` case a verifier approved: the
  death is recorded at once and the `death` case waits for a verifier's after-review
  (docs/verification.md says why, and what a rejection then does);
- anyone else: 404; an executor not yet approved: 403 `executor_not_approved`.

In the one transaction (`record`): the date is checked (422 `death_date_in_future`,
`death_before_birth`; 409 `death_already_recorded`) before the certificate is sealed; the
certificate is sealed in the vault and its case opened (verification); the date of death is
stored encrypted under the holder's key (holders); the holder's grants are swept for expiry,
then every open grant whose terms lack `survives_death: true` ends as `ended_by_death` through
`lifecycle.transition` (licences revoked, a signed receipt each, fetchable by the executor),
and the ones that survive have `valid_until` cut to the end of the post-mortem rights
(`rules.post_mortem_rights_until`, which an executor's recorded date may shorten, never
lengthen), or end too where the jurisdiction allows none (consents); and one audit event
`holder.death_recorded` with ids only (no date: the date of death is personal data).
Any refusal rolls the whole unit back and the sealed object is removed: nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.consents import lifecycle, rules
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow
from consent_service.errors import DomainError, NotFound
from consent_service.holders import service as holders
from consent_service.representatives import service as representatives
from consent_service.vault.storage import Storage
from consent_service.vault.upload import ReceivedUpload
from consent_service.verification import service as verification
from consent_service.verification.models import VerificationCase

Recorder = Literal["verifier", "executor"]


class ExecutorNotApproved(DomainError):
    code, status, title = (
        "executor_not_approved",
        403,
        "A verifier has not yet approved the evidence of the executor's authority",
    )


def _recorder(session: Session, principal: Principal, holder_id: str) -> Recorder:
    """Who records: a verifier without a conflict, or an approved executor; 404 otherwise."""
    if principal.role is Role.verifier:
        verification.check_verifier_without_conflict(session, principal, holder_id)
        return "verifier"
    if (
        principal.role is Role.holder
        and principal.acts_for(holder_id)
        and principal.representative_kind == "executor"
        and principal.representative_id is not None
    ):
        if not verification.representative_authority_approved(session, principal.representative_id):
            raise ExecutorNotApproved(
                "upload the letters testamentary or grant of probate "
                f"(POST /v1/holders/{holder_id}/representatives/{principal.representative_id}"
                "/evidence) and wait for a verifier's approval"
            )
        return "executor"
    raise NotFound("No such holder")


def check(session: Session, *, signer: Signer, principal: Principal, holder_id: str) -> None:
    """Before the upload is received: the caller may record, the holder lives in the registry
    and has no death recorded yet (so a refused recording never streams a file)."""
    _recorder(session, principal, holder_id)  # first: others learn nothing about the id
    holder = holders.get_live(session, holder_id)
    holders.check_death_can_be_recorded(
        session, keyring=signer.keyring, holder=holder, date_of_death=None
    )


@dataclass(frozen=True, slots=True)
class DeathRecorded:
    holder_id: str
    date_of_death: date
    recorded_by: Recorder
    case: VerificationCase
    ended_consents: list[str]
    cut_consents: list[str]
    post_mortem_rights_until: date | None


def record(
    session: Session,
    *,
    signer: Signer,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    upload: ReceivedUpload,
) -> DeathRecorded:
    """Record the death (see the module): all of it in the caller's transaction."""
    keyring = signer.keyring
    recorder = _recorder(session, principal, holder_id)
    holder = holders.get_live(session, holder_id)
    date_of_death = holders.parse_date_of_death(upload.fields.get("date_of_death", ""))
    holders.check_death_can_be_recorded(
        session, keyring=keyring, holder=holder, date_of_death=date_of_death
    )
    opened = verification.submit_death_certificate(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        holder_id=holder_id,
        upload=upload,
        approve_now=recorder == "verifier",
    )
    # Locks the holder and checks again: of two recordings racing, one wins, one gets 409.
    holder = holders.record_death(
        session, keyring=keyring, holder_id=holder_id, date_of_death=date_of_death
    )
    rights_until = rules.post_mortem_rights_until(
        holder.jurisdiction,
        date_of_death,
        executor_end=representatives.executor_post_mortem_end(session, holder_id),
    )
    ended, cut = lifecycle.end_or_cut_for_death(
        session,
        signer=signer,
        holder_id=holder_id,
        principal=principal,
        post_mortem_end=rules.start_of_day(rights_until) if rights_until else None,
        now=utcnow(),
    )
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.holder_death_recorded,
        subjects={"holder_id": holder_id, "verification_case_id": opened.case.id},
        payload={
            "recorded_by": recorder,
            "case_status": opened.case.status,
            "ended_consents": ended,
            "cut_consents": cut,
        },
    )
    return DeathRecorded(
        holder_id=holder_id,
        date_of_death=date_of_death,
        recorded_by=recorder,
        case=opened.case,
        ended_consents=ended,
        cut_consents=cut,
        post_mortem_rights_until=rights_until,
    )
