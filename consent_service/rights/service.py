"""Export everything held about a holder; erase a holder (crypto-shredding).

Erasure (CONSENT_RULES.md, "Erasure and access") is one database transaction, one
idempotent sweep of the object store and one idempotent destruction in the key store, ordered
so that a retry after a crash at any point finishes the job:

1. lock the holder row (nothing about this holder can change concurrently);
2. withdraw every active or suspended grant (licences under them are revoked by the grant
   status listeners, receipts signed), while the holder's key still exists;
3. disable the logins of the holder and of their representatives;
4. tombstone every reference (object key and content HMAC forgotten);
5. clear the personal-field ciphertexts, set `erased_at` (the tombstone, and the mark that
   the key must go), append the audit event;
6. delete the holder's stored objects (by name prefix), then the transaction commits;
7. once committed, destroy the holder's data key in the key store (crypto/keystore.py, a
   database apart from the data, so that a backup of the data does not carry it): from here
   every ciphertext of theirs, in the database, in the object store and in every backup of
   either, is unreadable; on SQLite the key store's write-ahead log is truncated;
8. on SQLite, checkpoint and truncate the data database's write-ahead log (db.truncate_wal):
   with `secure_delete` the database file then holds zeros where the erased data was, and the
   WAL no longer holds the pages as they were before.

Steps 1-5 commit together or not at all. Step 6 is the only effect outside the database
before the commit: a crash before the commit leaves the holder as they were (minus some
objects), and the retry does everything again. The key is destroyed only after the commit (an
erasure that rolled back must not have lost the key); a crash between the commit and step 7
leaves an erased holder with a live key, which `destroy_keys_of_erased` finds and destroys:
at every start of the service, on `consent-service keys sweep`, and when the erasure is
retried (a retry on an erased holder sweeps the prefix and the key again and answers as the
first call did).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal
from consent_service.audit.actions import Action
from consent_service.audit.service import event_document, events_of_holder
from consent_service.consents import lifecycle
from consent_service.consents import of_holder as consents_of_holder
from consent_service.consents import service as consents
from consent_service.crypto.keyring import Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, truncate_wal, utcnow
from consent_service.deletions import service as deletions
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.licences import service as licences
from consent_service.representatives import service as representatives
from consent_service.usages import service as usages
from consent_service.vault import service as vault
from consent_service.vault.service import HolderNotFound, StorageUnavailable, tombstone
from consent_service.vault.storage import Storage, StorageError
from consent_service.verification import service as verification
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType

EXPORT_FORMAT = "consent-service/holder-export/v1"


def _may_exercise_rights(principal: Principal, holder_id: str) -> bool:
    """The holder themself or an admin (a representative manages consents, not the record)."""
    return holders.may_read_full_record(principal, holder_id)


def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def _representative_document(rep: representatives.RepresentativeData) -> dict[str, Any]:
    row = rep.row
    return {
        "id": row.id,
        "kind": row.kind,
        "name": rep.name,
        "email": rep.email,
        "authority_evidence": rep.authority_evidence.model_dump(mode="json"),
        "post_mortem_rights_until": (
            row.post_mortem_rights_until.isoformat() if row.post_mortem_rights_until else None
        ),
        "created_at": _time(row.created_at),
        "revoked_at": _time(row.revoked_at),
    }


# -- export -----------------------------------------------------------------------------------


def export_holder(
    session: Session, *, keyring: Keyring, principal: Principal, holder_id: str
) -> dict[str, Any]:
    """Everything the service holds about the holder, as one JSON-ready document."""
    holder = holders.find(session, holder_id)
    if holder is None or not _may_exercise_rights(principal, holder_id):
        raise HolderNotFound()
    data = holders.decrypt_holder(session, keyring, holder)  # 404 holder_erased if erased
    key = keyring.data_key(session, holder_id)
    now = utcnow()
    grants = consents_of_holder.grants(session, holder_id)
    receipts: dict[str, list[dict[str, Any]]] = {}
    for receipt in consents_of_holder.receipts(session, [g.id for g in grants]):
        receipts.setdefault(receipt.grant_id, []).append(
            {
                "id": receipt.id,
                "consent_state": receipt.consent_state,
                "issued_at": _time(receipt.issued_at),
                "token": receipt.token,
            }
        )
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": rfc3339(now),
        "holder": {
            "id": holder.id,
            "legal_name": data.legal_name,
            "stage_name": data.stage_name,
            "email": data.email,
            "date_of_birth": data.date_of_birth.isoformat(),
            "date_of_death": data.date_of_death.isoformat() if data.date_of_death else None,
            "jurisdiction": holder.jurisdiction,
            "status": holders.status_on(data, now.date()).value,
            "verification": verification.assurance_of(session, holder.id),
            "created_at": _time(holder.created_at),
        },
        "representatives": [
            _representative_document(representatives.decrypt_representative(key, rep))
            for rep in representatives.all_of_holder(session, holder_id)
        ],
        "consent_requests": [
            {
                "id": req.id,
                "studio_id": req.studio_id,
                "status": req.status,
                "terms": req.terms,
                "language": req.language,
                "notice": {"text": req.notice_text, "sha256": req.notice_sha256},
                "created_at": _time(req.created_at),
                "decided_at": _time(req.decided_at),
                "decline_reason": consents.decline_reason(session, keyring=keyring, row=req),
                "consent_id": req.grant_id,
            }
            for req in consents_of_holder.requests(session, holder_id)
        ],
        "consents": [
            {
                "id": grant.id,
                "request_id": grant.request_id,
                "studio_id": grant.studio_id,
                "status": lifecycle.status_now(grant, now),
                "terms": grant.terms,
                "notice_sha256": grant.notice_sha256,
                "accepted_at": _time(grant.accepted_at),
                "valid_from": _time(grant.valid_from),
                "valid_until": _time(grant.valid_until),
                "signature": grant.signature,
                "signed_name": consents.signed_name(session, keyring=keyring, grant=grant),
                "status_changed_at": _time(grant.status_changed_at),
                "status_reason": consents.status_reason(session, keyring=keyring, grant=grant),
                "receipts": receipts.get(grant.id, []),
            }
            for grant in grants
        ],
        "licences": [
            {
                "id": lic.id,
                "consent_id": lic.consent_id,
                "studio_id": lic.studio_id,
                "scope": lic.scope,
                "valid_from": _time(lic.valid_from),
                "valid_until": _time(lic.valid_until),
                "status": licences.status_now(lic, now),
                "created_at": _time(lic.created_at),
            }
            for lic in licences.licences_of_holder(session, holder_id)
        ],
        # Where the holder's likeness was used: the outputs studios recorded under licences.
        "usages": usages.usages_of_holder_document(session, holder_id),
        "references": [
            {
                "id": ref.id,
                "attribute": ref.attribute,
                "content_type": ref.content_type,
                "size": ref.size,
                "stripped_metadata": list(ref.stripped_metadata or []),
                "created_at": _time(ref.created_at),
                "deleted_at": _time(ref.deleted_at),
                "content_url": None if ref.deleted_at else f"/v1/references/{ref.id}/content",
            }
            for ref in vault.references_of_holder(session, holder_id)
        ],
        "verification_cases": verification.export_of_holder(session, holder_id),
        # Studios that downloaded references and must confirm deleting them (GDPR Art. 17(2)).
        "deletion_acknowledgements": [
            {
                "licence_id": ack.licence_id,
                "studio_id": ack.studio_id,
                "cause": ack.cause,
                "due_since": _time(ack.due_since),
                "acknowledged_at": _time(ack.acknowledged_at),
            }
            for ack in deletions.of_holder(session, holder_id)
        ],
        # The events as stored and hashed (their canonical JSON), so they can be checked
        # against the audit log's Merkle tree.
        "audit_events": [event_document(e) for e in events_of_holder(session, holder_id)],
    }
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.holder_exported,
        subjects={"holder_id": holder_id},
    )
    return document


# -- erasure ----------------------------------------------------------------------------------


def erase_holder(
    session: Session,
    *,
    signer: Signer,
    storage: Storage,
    principal: Principal,
    holder_id: str,
) -> Holder:
    """Erase a holder (see the module docstring for the order of the steps); idempotent."""
    # 1. Lock the holder row.
    holder = holders.find(session, holder_id, lock=True)
    if holder is None or not _may_exercise_rights(principal, holder_id):
        raise HolderNotFound()
    keyring = signer.keyring
    if holder.erased_at is not None:
        _sweep_objects(storage, holder_id)  # finish a sweep a crash may have cut short
        _destroy_key(keyring, holder_id)  # and the key's destruction
        return holder
    # 2. Withdraw every open grant; the licence listeners revoke what hangs off them.
    withdrawn = lifecycle.withdraw_all_for_erasure(
        session, signer=signer, holder_id=holder_id, principal=principal
    )
    # 3. No more logins, and no link left from an email to this id: the holder's and their
    #    representatives'.
    accounts.forget_logins(session, holder_id)
    for rep in representatives.all_of_holder(session, holder_id):
        accounts.forget_logins(session, rep.id)
    # 4. Tombstone the references.
    references = vault.references_of_holder(session, holder_id)
    for reference in references:
        if reference.deleted_at is None or reference.wrapped_key is not None:
            tombstone(reference)
            vault.save_reference(session, reference)
    # 4a. Reasons a person wrote before they were sealed (migration 0011) leave with the key.
    consents_of_holder.forget_clear_reasons(session, holder_id)
    licences.forget_clear_reasons(session, holder_id)
    # 4b. Verification cases keep their decision, not the document metadata or the evidence.
    verification.forget_holder(session, holder_id)
    # 5. The tombstone: no personal field left, even as ciphertext; `erased_at` also marks
    #    the key for destruction (step 7, or the sweep after a crash).
    for field in holders.ENCRYPTED_FIELDS:
        setattr(holder, f"{field}_enc", None)
    holder.erased_at = utcnow()
    holders.save(session, holder)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.holder_erased,
        subjects={"holder_id": holder_id},
        payload={
            "withdrawn_consents": withdrawn,
            "references_deleted": len(references),
            "by": principal.role.value,
        },
    )
    # 6a. Tell every studio that asked for, was granted or licensed anything of this holder
    #     (ids only), and open the deletion acknowledgements owed by those that downloaded.
    studios = {r.studio_id for r in consents_of_holder.requests(session, holder_id)}
    studios.update(licences.studios_of_holder(session, holder_id))
    webhooks.publish(
        session,
        EventType.holder_erased,
        studio_ids=sorted(studios),
        data={"holder_id": holder_id, "erased_at": rfc3339(holder.erased_at or utcnow())},
    )
    deletions.require_for_erasure(session, holder_id)
    # 7. The stored objects, last: idempotent, and retried in full if the commit never happens.
    _sweep_objects(storage, holder_id)
    # 7. After the commit: crypto-shredding, the key destroyed in the key store.
    # 8. Then no copy of the old pages left in SQLite's write-ahead log.
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine

    def after_commit() -> None:
        _destroy_key(keyring, holder_id)
        truncate_wal(engine)

    vault.on_commit(session, after_commit)
    return holder


def _destroy_key(keyring: Keyring, holder_id: str) -> None:
    keyring.destroy_data_keys([holder_id])
    if keyring.store.get(holder_id) is not None:  # pragma: no cover - must never pass silently
        raise RuntimeError("data key still readable after destruction")


# A key without a holder row is left alone this long: its registration may still be committing.
ORPHAN_KEY_GRACE = timedelta(hours=1)


def destroy_keys_of_erased(
    session: Session, keyring: Keyring, *, orphans: bool = False
) -> list[str]:
    """Destroy every key in the key store whose holder the data shows as erased; idempotent.

    The retry of erasure's step 7 after a crash between the data commit and the key's
    destruction, run at startup and by `consent-service keys sweep`. Returns the owner ids
    whose keys were destroyed.

    With `orphans`, also the keys whose holder row does not exist at all (left by a
    registration that rolled back) once they are older than `ORPHAN_KEY_GRACE` (a younger one
    may belong to a registration still in flight). Only on an operator's explicit request
    (`keys sweep --orphans`), never at startup: a service started by mistake against the
    wrong or an empty data database would otherwise take every key for an orphan.
    """
    owners = keyring.store.owner_ids()
    flags = holders.erased_flags(session, owners)
    doomed = [owner for owner in owners if flags.get(owner) is True]
    if orphans:
        unknown = [owner for owner in owners if owner not in flags]
        doomed += keyring.store.created_before(unknown, utcnow() - ORPHAN_KEY_GRACE)
    if doomed:
        keyring.destroy_data_keys(doomed)
    return doomed


def _sweep_objects(storage: Storage, holder_id: str) -> None:
    try:
        storage.delete_prefix(f"{holder_id}/")
    except StorageError as exc:
        raise StorageUnavailable("Erasure could not reach the reference store; retry") from exc
