"""Holders: registration, the decrypted record, computed status, verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import service as accounts
from consent_service.accounts.models import Login
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.catalogues import LANGUAGES
from consent_service.crypto.envelope import aad_for, decrypt, encrypt
from consent_service.crypto.keyring import KeyDestroyed, Keyring
from consent_service.db import utcnow
from consent_service.errors import Conflict, DomainError, NotFound, ValidationFailed
from consent_service.holders import repository
from consent_service.holders.models import Holder
from consent_service.holders.schemas import HolderRegister, HolderStatus
from consent_service.ids import new_id

ENCRYPTED_FIELDS = ("legal_name", "stage_name", "email", "date_of_birth", "date_of_death")


class EmailAlreadyRegistered(Conflict):
    code, title = "email_already_registered", "This email is already registered"


class HolderErased(NotFound):
    code, title = "holder_erased", "This holder was erased"


class DeceasedSelfRegistration(ValidationFailed):
    code, title = (
        "deceased_self_registration",
        "A deceased person is registered only by their executor (POST /v1/estates)",
    )


class DeathAlreadyRecorded(Conflict):
    code, title = "death_already_recorded", "The holder's death is already recorded"


class DeathDateInFuture(ValidationFailed):
    code, title = "death_date_in_future", "The date of death is after today"


class DeathBeforeBirth(ValidationFailed):
    code, title = "death_before_birth", "The date of death is before the date of birth"


class HolderDeceased(DomainError):
    """The holder's own login after their death was recorded (IDENTITY.md "Death")."""

    code, status, title = (
        "holder_deceased",
        403,
        "The registry records this person as deceased: their own login no longer works, and "
        "their executor acts for them",
    )


class InvalidDeathDate(ValidationFailed):
    code, title = "invalid_death_date", "date_of_death must be a date (YYYY-MM-DD)"


def get_live(session: Session, holder_id: str, *, lock: bool = False) -> Holder:
    """The holder, not erased: `NotFound` when unknown, `HolderErased` once erased.

    With `lock` the row is held (SELECT ... FOR UPDATE) so erasure cannot interleave. After
    erasure nothing new may be made for that holder id (CONSENT_RULES.md).
    """
    holder = (
        repository.get_for_update(session, holder_id)
        if lock
        else repository.get(session, holder_id)
    )
    if holder is None:
        raise NotFound("No such holder")
    if holder.erased_at is not None:
        raise HolderErased()
    return holder


@dataclass(frozen=True, slots=True)
class HolderData:
    """A holder's personal fields in clear; lives only for the duration of a request."""

    legal_name: str
    stage_name: str | None
    email: str
    date_of_birth: date
    date_of_death: date | None


def status_on(data: HolderData, day: date) -> HolderStatus:
    """Holder status on `day` (CONSENT_RULES.md, "Holder status"): computed, never typed in."""
    if data.date_of_death is not None and data.date_of_death <= day:
        return HolderStatus.deceased
    return (
        HolderStatus.minor
        if eighteenth_birthday(data.date_of_birth) > day
        else HolderStatus.living_adult
    )


def eighteenth_birthday(date_of_birth: date) -> date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + 18)
    except ValueError:  # born on 29 February: the birthday is 1 March in a common year
        return date(date_of_birth.year + 18, 3, 1)


def _aad(holder_id: str, field: str) -> bytes:
    return aad_for("holder", holder_id, field)


def _seal(key: bytes, holder_id: str, field: str, value: str | None) -> bytes | None:
    if value is None:
        return None
    return encrypt(key, value.encode("utf-8"), aad=_aad(holder_id, field))


def _open(key: bytes, holder_id: str, field: str, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    return decrypt(key, blob, aad=_aad(holder_id, field)).decode("utf-8")


def decrypt_holder(session: Session, keyring: Keyring, holder: Holder) -> HolderData:
    if holder.erased_at is not None:
        raise HolderErased()
    try:
        key = keyring.data_key(session, holder.id)
    except KeyDestroyed as exc:
        raise HolderErased() from exc
    dod = _open(key, holder.id, "date_of_death", holder.date_of_death_enc)
    return HolderData(
        legal_name=_open(key, holder.id, "legal_name", holder.legal_name_enc) or "",
        stage_name=_open(key, holder.id, "stage_name", holder.stage_name_enc),
        email=_open(key, holder.id, "email", holder.email_enc) or "",
        date_of_birth=date.fromisoformat(
            _open(key, holder.id, "date_of_birth", holder.date_of_birth_enc) or ""
        ),
        date_of_death=date.fromisoformat(dod) if dod else None,
    )


def _new_holder(
    session: Session,
    *,
    keyring: Keyring,
    legal_name: str,
    stage_name: str | None,
    email: str | None,
    date_of_birth: date,
    jurisdiction: str,
) -> Holder:
    """The holder row, its data key and its encrypted fields (alive: no date of death)."""
    holder_id = new_id("hld")
    key = keyring.create_data_key(session, holder_id)
    holder = Holder(
        id=holder_id,
        jurisdiction=jurisdiction,
        legal_name_enc=_seal(key, holder_id, "legal_name", legal_name),
        stage_name_enc=_seal(key, holder_id, "stage_name", stage_name),
        email_enc=_seal(key, holder_id, "email", email),
        date_of_birth_enc=_seal(key, holder_id, "date_of_birth", date_of_birth.isoformat()),
    )
    repository.add(session, holder)
    return holder


def check_registrable(data: HolderRegister) -> None:
    """What refuses a registration whatever the address (so a refusal says nothing about it)."""
    if data.date_of_death is not None:
        raise DeceasedSelfRegistration(
            "register the estate as its executor (POST /v1/estates), then record the death "
            "with the death certificate (POST /v1/holders/{id}/death)",
            field="date_of_death",
        )


def register_holder(
    session: Session,
    *,
    keyring: Keyring,
    actor: Principal | None,
    data: HolderRegister,
    password_hash: str,
) -> tuple[Holder, HolderData]:
    """Create a holder, its data key, its encrypted record and its password login.

    `password_hash` is `passwords.hash_password(data.password)`, computed before the write
    transaction began (the route does it), so argon2 never runs under the write lock.
    A deceased person is never registered here (IDENTITY.md "Death"): their executor registers
    the estate (flows/estate.py) and records the death with evidence (flows/death.py).
    """
    check_registrable(data)
    email = str(data.email)
    if accounts.email_taken(session, keyring=keyring, email=email):
        raise EmailAlreadyRegistered()
    holder = _new_holder(
        session,
        keyring=keyring,
        legal_name=data.legal_name,
        stage_name=data.stage_name,
        email=email,
        date_of_birth=data.date_of_birth,
        jurisdiction=data.jurisdiction,
    )
    holder.time_zone = data.time_zone
    holder.language = data.language
    holder_id = holder.id
    try:
        accounts.create_login(
            session,
            keyring=keyring,
            email=email,
            password_hash=password_hash,
            principal_kind="holder",
            principal_id=holder_id,
        )
    except IntegrityError as exc:  # a concurrent registration of the same email won the race
        raise EmailAlreadyRegistered() from exc
    audit.record(
        session,
        actor_id=actor.actor_id if actor else holder_id,
        action=Action.holder_registered,
        subjects={"holder_id": holder_id},
        payload={"by": actor.role.value if actor else "self"},
    )
    clear = HolderData(
        legal_name=data.legal_name,
        stage_name=data.stage_name,
        email=email,
        date_of_birth=data.date_of_birth,
        date_of_death=None,
    )
    return holder, clear


def register_estate_holder(
    session: Session,
    *,
    keyring: Keyring,
    legal_name: str,
    stage_name: str | None,
    date_of_birth: date,
    jurisdiction: str,
) -> Holder:
    """The holder row of an estate, registered by its executor: no email and no login (the
    deceased never signs in); the date of death comes later, with evidence (`record_death`)."""
    return _new_holder(
        session,
        keyring=keyring,
        legal_name=legal_name,
        stage_name=stage_name,
        email=None,
        date_of_birth=date_of_birth,
        jurisdiction=jurisdiction,
    )


def parse_date_of_death(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidDeathDate(field="date_of_death") from exc


def check_death_can_be_recorded(
    session: Session, *, keyring: Keyring, holder: Holder, date_of_death: date | None
) -> None:
    """Refuse before anything is stored: a death already recorded (409), a date after today or
    before birth (422). `date_of_death` None checks only the first (before an upload)."""
    data = decrypt_holder(session, keyring, holder)
    if holder.date_of_death_enc is not None or holder.death_recorded_at is not None:
        raise DeathAlreadyRecorded()
    if date_of_death is None:
        return
    if date_of_death > utcnow().date():
        raise DeathDateInFuture(
            f"the date of death {date_of_death.isoformat()} is after today", field="date_of_death"
        )
    if date_of_death < data.date_of_birth:
        raise DeathBeforeBirth(field="date_of_death")


def record_death(
    session: Session, *, keyring: Keyring, holder_id: str, date_of_death: date
) -> Holder:
    """Store the date of death (ciphertext under the holder's key) on the LOCKED live holder.

    Checked again under the lock, so two recordings racing cannot both pass. No audit event
    here: the death recording flow writes one `holder.death_recorded` for the whole unit.
    """
    holder = get_live(session, holder_id, lock=True)
    check_death_can_be_recorded(
        session, keyring=keyring, holder=holder, date_of_death=date_of_death
    )
    key = keyring.data_key(session, holder.id)
    holder.date_of_death_enc = _seal(key, holder.id, "date_of_death", date_of_death.isoformat())
    holder.death_recorded_at = utcnow()
    repository.add(session, holder)
    return holder


def may_read_full_record(principal: Principal, holder_id: str) -> bool:
    return principal.is_admin or (
        principal.acts_for(holder_id) and principal.representative_kind is None
    )


def get_holder_record(
    session: Session, *, keyring: Keyring, principal: Principal, holder_id: str
) -> tuple[Holder, HolderData]:
    """The full record, for the holder and admins; 404 for everyone else."""
    holder = repository.get(session, holder_id)
    if holder is None or not may_read_full_record(principal, holder_id):
        raise NotFound("No such holder")
    return holder, decrypt_holder(session, keyring, holder)


def get_public_view(
    session: Session, *, keyring: Keyring, studio: Principal, holder_id: str
) -> tuple[Holder, HolderData]:
    """What a studio with a request or grant for the holder may see: {id, status, verification}.

    404 for a studio that never asked this holder for consent (API.md).
    """
    from consent_service.consents import of_holder as consents

    holder = repository.get(session, holder_id)
    if (
        holder is None
        or studio.role is not Role.studio
        or studio.organization_id is None
        or not consents.studio_asked(session, studio_id=studio.organization_id, holder_id=holder_id)
    ):
        raise NotFound("No such holder")
    return holder, decrypt_holder(session, keyring, holder)


def resolve_login(session: Session, login: Login) -> Principal | None:
    """The Principal of a holder's own login; None once the holder is erased.

    Once their death is recorded the holder's own login is refused (`HolderDeceased`): signing
    in and every access token issued before; their executor acts for them from then on."""
    holder = repository.get(session, login.principal_id)
    if holder is None or holder.erased_at is not None:
        return None
    if holder.death_recorded_at is not None:
        raise HolderDeceased()
    return Principal(role=Role.holder, actor_id=holder.id, holder_id=holder.id)


# -- for other domains (they never query the holder table themselves) -------------------------


def mail_recipient(session: Session, keyring: Keyring, holder_id: str) -> tuple[str, str] | None:
    """(address, how to address them) for mail to a holder; None once erased or deceased.

    Looked up when a mail is delivered, never stored with it (mail/channel.py): mail queued
    before an erasure is then never sent.
    """
    holder = repository.get(session, holder_id)
    if holder is None or holder.erased_at is not None or holder.death_recorded_at is not None:
        return None
    try:
        data = decrypt_holder(session, keyring, holder)
    except HolderErased:
        return None
    if data.date_of_death is not None or not data.email:
        return None
    return data.email, data.stage_name or data.legal_name


def find(session: Session, holder_id: str, *, lock: bool = False) -> Holder | None:
    """The holder row in any state (erased included), or None; `lock` holds the row."""
    if lock:
        return repository.get_for_update(session, holder_id)
    return repository.get(session, holder_id)


def save(session: Session, holder: Holder) -> None:
    """Write back a holder row another domain's flow changed (erasure's tombstone)."""
    repository.add(session, holder)


def time_zone_of(session: Session, holder_id: str | None) -> str:
    """The IANA time zone the holder reads dates in (UTC when none was given)."""
    holder = find(session, holder_id) if holder_id else None
    return (holder.time_zone if holder is not None else None) or "UTC"


def language_of(session: Session, holder_id: str | None) -> str | None:
    """The language the holder chose to read notices in (None: none chosen)."""
    holder = find(session, holder_id) if holder_id else None
    return holder.language if holder is not None else None


def set_language(session: Session, *, principal: Principal, language: str) -> bool:
    """The holder's own choice of language (pages, mail, notices); its audit event is written
    in the same transaction. False when it was already that language (nothing recorded)."""
    if language not in LANGUAGES:
        raise ValueError(language)
    holder = get_live(session, principal.holder_id or "", lock=True)
    if holder.language == language:
        return False
    previous = holder.language
    holder.language = language
    repository.add(session, holder)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.holder_language_changed,
        subjects={"holder_id": holder.id},
        payload={"from": previous, "to": language},
    )
    return True


def erased_flags(session: Session, holder_ids: list[str]) -> dict[str, bool]:
    """For each of `holder_ids` that exists: whether it is erased (the key store's sweep)."""
    return repository.erased_flags(session, holder_ids)
