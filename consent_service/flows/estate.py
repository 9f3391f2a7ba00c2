"""An executor registers a deceased person's estate (IDENTITY.md "Authority of representatives").

`POST /v1/estates` (anonymous, like holder self-registration): one transaction creates the
holder (no email, no login: the deceased never signs in) and the executor with its password
login. Nothing can be signed yet: the executor then uploads the letters testamentary or grant
of probate (a `representative_authority` case), a verifier approves them, and the executor
records the death with the death certificate (flows/death.py). Only then is the holder
deceased, and only then may the executor sign for the estate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from consent_service import audit
from consent_service.audit.actions import Action
from consent_service.crypto.keyring import Keyring
from consent_service.flows.schemas import EstateRegister
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.representatives import service as representatives
from consent_service.representatives.schemas import RepresentativeCreate


@dataclass(frozen=True, slots=True)
class EstateRegistered:
    holder: Holder
    executor: representatives.RepresentativeData


def register_estate(
    session: Session, *, keyring: Keyring, data: EstateRegister, password_hash: str
) -> EstateRegistered:
    """The deceased holder and the executor's login, in one transaction. `password_hash` is
    the executor's password, hashed by the route before the write transaction began."""
    deceased = data.deceased
    holder = holders.register_estate_holder(
        session,
        keyring=keyring,
        legal_name=deceased.legal_name,
        stage_name=deceased.stage_name,
        date_of_birth=deceased.date_of_birth,
        jurisdiction=deceased.jurisdiction,
    )
    executor = representatives.add_estate_executor(
        session,
        keyring=keyring,
        holder_id=holder.id,
        data=RepresentativeCreate(kind="executor", **data.executor.model_dump()),
        password_hash=password_hash,
    )
    audit.record(
        session,
        actor_id=executor.row.id,
        action=Action.estate_registered,
        subjects={"holder_id": holder.id, "representative_id": executor.row.id},
    )
    return EstateRegistered(holder=holder, executor=executor)
