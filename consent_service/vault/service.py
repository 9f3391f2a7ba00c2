"""Reference data: upload (sniff, de-identify, encrypt, store), list, download, delete.

Keys (DESIGN.md, "Keys and cryptography"): each object has its own random AES-256 key, wrapped
by the holder's data key with associated data naming holder and object; the content is
encrypted in 1 MiB chunks (crypto/stream.py) bound to the same holder and object id. Erasing
the holder destroys the data key, so every stored object, and every copy of it, is unreadable.

Duplicates: a keyed HMAC (service key "content-hmac") of the *cleaned* content identifies an
upload the holder already made with the same attribute; that upload answers 200 with the
existing reference (`duplicate: true`) and stores nothing, so a retried upload is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.crypto.envelope import (
    DecryptionError,
    aad_for,
    decrypt,
    encrypt,
    generate_key,
    keyed_file_digest,
)
from consent_service.crypto.keyring import CONTENT_HMAC, KeyDestroyed, Keyring
from consent_service.crypto.stream import DEFAULT_CHUNK_SIZE, decrypt_reader, encrypt_stream
from consent_service.db import utcnow
from consent_service.errors import DomainError, NotFound, ValidationFailed
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.ids import new_id
from consent_service.vault import repository, sanitize
from consent_service.vault.models import Reference
from consent_service.vault.schemas import Attribute
from consent_service.vault.storage import ObjectMissing, Storage, StorageError
from consent_service.vault.upload import ReceivedUpload

log = logging.getLogger("consent_service.vault")

READ_BLOCK = 1024 * 1024
# Which media may stand for which attribute: a voice is heard, a face or body is seen.
FAMILIES_FOR = {
    Attribute.face: {"image", "video"},
    Attribute.body: {"image", "video"},
    Attribute.voice: {"audio", "video"},
}


class HolderNotFound(NotFound):
    code, title = "holder_not_found", "No such holder"


class ReferenceNotFound(NotFound):
    code, title = "reference_not_found", "No such reference"


class AttributeMismatch(DomainError):
    code, status, title = "attribute_mismatch", 422, "This kind of media cannot show that attribute"


class WrongMediaFamily(DomainError):
    code, status, title = "wrong_media_type", 415, "This kind of media is not accepted here"


class StorageUnavailable(DomainError):
    code, status, title = "storage_unavailable", 503, "The reference store is unavailable"


class ReferenceUnreadable(DomainError):
    """The stored object is missing or does not authenticate: corruption or tampering."""

    code, status, title = "reference_unreadable", 500, "The stored reference cannot be read"


# A function that answers "which active licence lets this studio read this attribute of this
# holder?" with a licence id, or None. Licences provide it (licences.service.
# active_licence_for_attribute); the composition root (wiring.py) hands it to the vault.
LicenceLookup = Callable[[Session, str, str, str], str | None]


_CLEANER_KEY = "consent_service.media_cleaner"


def bind_media_cleaner(info: MutableMapping[Any, Any], cleaner: sanitize.MediaCleaner) -> None:
    """Make `cleaner` (its memory budget and slots) the one used through the session of `info`.

    Bound by the composition root (wiring.Services.session), like the grant listeners: uploads
    reach the vault from more than one domain (references, verification evidence), and all of
    them must share the one set of slots.
    """
    info[_CLEANER_KEY] = cleaner


def _clean(session: Session, src: Path, dst: Path, media: sanitize.MediaType) -> list[str]:
    cleaner: sanitize.MediaCleaner | None = session.info.get(_CLEANER_KEY)
    if cleaner is None:
        raise RuntimeError("this session has no media cleaner: open it with Services.session()")
    return cleaner.clean(src, dst, media)


# A reference is a sealed object of this kind: its key and chunks are bound to it, the holder
# and the reference id (see `sealed_context`; the same path reads evidence under its kind).
REFERENCE_KIND = "reference"


def _object_context(reference: Reference) -> tuple[str, str, str]:
    return sealed_context(REFERENCE_KIND, reference.holder_id, reference.id)


def _key_aad(holder_id: str, reference_id: str) -> bytes:
    return aad_for(f"{REFERENCE_KIND}-key", holder_id, reference_id)


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the current transaction has committed (never if it rolls back)."""

    def run(_session: Session) -> None:
        try:
            action()
        except Exception:  # the commit stands; a leftover object is ciphertext without a key
            log.exception("post-commit action failed")

    event.listen(session, "after_commit", run, once=True)


# -- who may do what --------------------------------------------------------------------------


def live_holder(session: Session, principal: Principal, holder_id: str) -> Holder:
    """The holder, if `principal` acts for them and they are not erased; 404 otherwise."""
    if not principal.acts_for(holder_id):
        raise HolderNotFound()
    return _live_or(session, holder_id, HolderNotFound)


def _live_or(
    session: Session, holder_id: str, missing: type[NotFound], *, lock: bool = False
) -> Holder:
    """`holders.get_live`, answering this domain's own 404 (`missing`) for a gone holder."""
    try:
        return holders.get_live(session, holder_id, lock=lock)
    except NotFound as exc:
        raise missing() from exc


# -- upload -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredReference:
    reference: Reference
    duplicate: bool


def _read_blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(READ_BLOCK):
            yield block


def store_reference(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    upload: ReceivedUpload,
) -> StoredReference:
    """Sniff, clean, de-duplicate, encrypt and store one received upload."""
    # 1. The attribute, and a media type decided by the bytes.
    try:
        attribute = Attribute(upload.attribute or "")
    except ValueError as exc:
        raise ValidationFailed("'attribute' must be face, voice or body") from exc
    media = sanitize.sniff(upload.path)
    if media.family not in FAMILIES_FOR[attribute]:
        raise AttributeMismatch(f"A {media.content_type} file cannot be a '{attribute}' reference")
    # 2. De-identify into a second temporary file next to the first.
    cleaned = upload.path.with_name(upload.path.name + ".clean")
    try:
        stripped = _clean(session, upload.path, cleaned, media)
        return _store_cleaned(
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
            attribute=attribute,
            content_type=media.content_type,
            stripped=stripped,
            cleaned=cleaned,
        )
    finally:
        cleaned.unlink(missing_ok=True)


def _store_cleaned(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    attribute: Attribute,
    content_type: str,
    stripped: list[str],
    cleaned: Path,
) -> StoredReference:
    # 3. Encrypt under a fresh object key and store, hashing the cleaned bytes (keyed HMAC) in
    #    a worker thread meanwhile. No row is locked yet: on SQLite any transaction holds the
    #    database write lock, which must not wait on a large upload.
    reference = Reference(
        id=new_id("ref"),
        holder_id=holder_id,
        attribute=attribute.value,
        content_type=content_type,
        size=cleaned.stat().st_size,
        stored_size=0,
        stripped_metadata=stripped,
        storage_name="",
    )
    reference.storage_name = f"{holder_id}/{reference.id}"
    object_key = generate_key()
    reference.stored_size, digest = _encrypt_and_put(
        session,
        keyring=keyring,
        storage=storage,
        name=reference.storage_name,
        cleaned=cleaned,
        object_key=object_key,
        context=_object_context(reference),
    )
    try:
        return _record_stored(
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            reference=reference,
            object_key=object_key,
            digest=digest,
        )
    except BaseException:
        _delete_quietly(storage, reference.storage_name)
        raise


def _encrypt_and_put(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    name: str,
    cleaned: Path,
    object_key: bytes,
    context: tuple[str, str, str],
) -> tuple[int, str]:
    """Encrypt `cleaned` in chunks under `object_key` into `name`; (stored size, keyed HMAC)."""
    hmac_key = keyring.service_key(session, CONTENT_HMAC)  # cached after the first call
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-hmac") as pool:
        pending_digest = pool.submit(keyed_file_digest, hmac_key, cleaned, block_size=READ_BLOCK)
        try:
            stored_size = storage.put(
                name,
                encrypt_stream(
                    object_key,
                    _read_blocks(cleaned),
                    context=context,
                    chunk_size=DEFAULT_CHUNK_SIZE,
                ),
            )
        except StorageError as exc:
            raise StorageUnavailable() from exc
        return stored_size, pending_digest.result()


# -- sealed objects: media that are not references (verification evidence) ---------------------


@dataclass(frozen=True, slots=True)
class SealedObject:
    """A received file, sniffed, cleaned, encrypted and stored, with no reference row.

    `wrapped_key` is the object key under the holder's data key, bound to `key_aad`; the
    caller keeps it (and `storage_name`) in its own row and calls `discard_unless_committed`.
    """

    storage_name: str
    content_type: str
    family: str
    size: int
    stored_size: int
    stripped_metadata: list[str]
    content_hmac: str
    wrapped_key: bytes


def sealed_context(kind: str, holder_id: str, object_id: str) -> tuple[str, str, str]:
    return (kind, holder_id, object_id)


def seal_upload(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    holder_id: str,
    kind: str,
    object_id: str,
    upload: ReceivedUpload,
    families: frozenset[str],
) -> SealedObject:
    """The reference path for other media: sniff, refuse other families, clean, encrypt, store.

    The object lives at `<holder_id>/<object_id>` (so erasure of the holder removes it with the
    holder's references), encrypted under a fresh key wrapped by the holder's data key with
    associated data naming `kind`, holder and object. Raises `WrongMediaFamily` before anything
    is stored when the sniffed type is not in `families`.
    """
    media = sanitize.sniff(upload.path)
    if media.family not in families:
        raise WrongMediaFamily(
            f"A {media.content_type} file is not accepted here: send "
            + " or ".join(sorted(families))
        )
    cleaned = upload.path.with_name(upload.path.name + ".clean")
    try:
        stripped = _clean(session, upload.path, cleaned, media)
        try:
            holder_key = keyring.data_key(session, holder_id)
        except KeyDestroyed as exc:
            raise HolderNotFound() from exc
        object_key = generate_key()
        context = sealed_context(kind, holder_id, object_id)
        name = f"{holder_id}/{object_id}"
        stored_size, digest = _encrypt_and_put(
            session,
            keyring=keyring,
            storage=storage,
            name=name,
            cleaned=cleaned,
            object_key=object_key,
            context=context,
        )
        return SealedObject(
            storage_name=name,
            content_type=media.content_type,
            family=media.family,
            size=cleaned.stat().st_size,
            stored_size=stored_size,
            stripped_metadata=stripped,
            content_hmac=digest,
            wrapped_key=encrypt(holder_key, object_key, aad=aad_for(f"{kind}-key", *context[1:])),
        )
    finally:
        cleaned.unlink(missing_ok=True)


def open_sealed(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    holder_id: str,
    kind: str,
    object_id: str,
    storage_name: str,
    wrapped_key: bytes,
) -> Iterator[bytes]:
    """The decrypted content of a sealed object; the first chunk is read before returning."""
    try:
        holder_key = keyring.data_key(session, holder_id)
    except KeyDestroyed as exc:
        raise ReferenceNotFound() from exc
    try:
        object_key = decrypt(
            holder_key, wrapped_key, aad=aad_for(f"{kind}-key", holder_id, object_id)
        )
    except DecryptionError as exc:
        raise ReferenceUnreadable() from exc
    content = _decrypted_object(
        storage, storage_name, object_key, sealed_context(kind, holder_id, object_id), object_id
    )
    try:
        first = next(content)
    except StopIteration:  # pragma: no cover - every object has a final chunk
        first = b""
    return _chain(first, content)


def delete_after_commit(session: Session, storage: Storage, name: str) -> None:
    """Remove a stored object once the current transaction has committed."""
    on_commit(session, lambda: storage.delete(name))


def _record_stored(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    reference: Reference,
    object_key: bytes,
    digest: str,
) -> StoredReference:
    holder_id = reference.holder_id
    # 4. Lock the holder (serialises duplicate checks and erasure) and re-check it is live.
    _live_or(session, holder_id, HolderNotFound, lock=True)
    try:
        holder_key = keyring.data_key(session, holder_id)
    except KeyDestroyed as exc:
        raise HolderNotFound() from exc
    # 5. Duplicate? Same holder, same attribute, same cleaned bytes: keep the existing one.
    existing = repository.find_duplicate(
        session, holder_id=holder_id, content_hmac=digest, attribute=reference.attribute
    )
    if existing is not None:
        _delete_quietly(storage, reference.storage_name)
        return StoredReference(existing, duplicate=True)
    # 6. The object key, wrapped by the holder's key and bound to holder and object id.
    reference.content_hmac = digest
    reference.wrapped_key = encrypt(holder_key, object_key, aad=_key_aad(holder_id, reference.id))
    repository.add(session, reference)
    discard_unless_committed(session, storage, reference.storage_name)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.reference_uploaded,
        subjects={"holder_id": holder_id, "reference_id": reference.id},
        payload={
            "attribute": reference.attribute,
            "content_type": reference.content_type,
            "size": reference.size,
            "stripped_metadata": list(reference.stripped_metadata),
        },
    )
    return StoredReference(reference, duplicate=False)


def _delete_quietly(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except StorageError:
        log.warning("could not remove a vault object that is not needed")


# -- listing ----------------------------------------------------------------------------------


def list_references(
    session: Session,
    *,
    principal: Principal,
    holder_id: str,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Reference]:
    live_holder(session, principal, holder_id)
    return list(repository.page_of_holder(session, holder_id=holder_id, limit=limit, after=after))


# -- download ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedReference:
    reference: Reference
    content: Iterator[bytes]


def open_reference(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    reference_id: str,
    licence_lookup: LicenceLookup,
) -> OpenedReference:
    """Authorise a read, audit it, and return the decrypted content as a stream.

    The holder reads their own references; a studio reads one only under an active licence
    whose scope covers the reference's attribute, and the audit event names that licence.
    Anyone else gets 404.
    """
    reference = repository.get_live(session, reference_id)
    if reference is None:
        raise ReferenceNotFound()
    licence_id: str | None = None
    if principal.acts_for(reference.holder_id):
        pass
    elif principal.role is Role.studio and principal.organization_id:
        licence_id = licence_lookup(
            session, principal.organization_id, reference.holder_id, reference.attribute
        )
        if licence_id is None:
            raise ReferenceNotFound()
    else:
        raise ReferenceNotFound()
    _live_or(session, reference.holder_id, ReferenceNotFound)
    if reference.wrapped_key is None:
        raise ReferenceNotFound()
    # The first chunk is read here: a missing, moved or altered object fails before any byte
    # of a response is sent, so the client gets a problem instead of a broken body.
    content = open_sealed(
        session,
        keyring=keyring,
        storage=storage,
        holder_id=reference.holder_id,
        kind=REFERENCE_KIND,
        object_id=reference.id,
        storage_name=reference.storage_name,
        wrapped_key=reference.wrapped_key,
    )
    subjects = {"holder_id": reference.holder_id, "reference_id": reference.id}
    payload: dict[str, str] = {"attribute": reference.attribute}
    if licence_id is not None:
        subjects["licence_id"] = licence_id
        subjects["studio_id"] = principal.organization_id or ""
        payload["licence_id"] = licence_id
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.reference_downloaded,
        subjects=subjects,
        payload=payload,
    )
    return OpenedReference(reference, content)


def _decrypted_object(
    storage: Storage,
    name: str,
    object_key: bytes,
    context: tuple[str, str, str],
    object_id: str,
) -> Iterator[bytes]:
    try:
        reader = storage.open(name)
    except ObjectMissing as exc:
        raise ReferenceUnreadable("The stored object is missing") from exc
    except StorageError as exc:
        raise StorageUnavailable() from exc
    try:
        yield from decrypt_reader(object_key, reader.read, context=context)
    except DecryptionError as exc:
        log.error("vault object failed authentication", extra={"event": {"ref": object_id}})
        raise ReferenceUnreadable() from exc
    except (StorageError, OSError) as exc:
        raise StorageUnavailable() from exc
    finally:
        reader.close()


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


# -- delete -----------------------------------------------------------------------------------


def delete_reference(
    session: Session, *, storage: Storage, principal: Principal, reference_id: str
) -> None:
    """Tombstone the row, destroy the object key, then remove the object once committed."""
    reference = repository.get_live(session, reference_id)
    if reference is None or not principal.acts_for(reference.holder_id):
        raise ReferenceNotFound()
    reference = repository.get_live_of_holder_for_update(session, reference_id, reference.holder_id)
    if reference is None:
        raise ReferenceNotFound()
    tombstone(reference)
    repository.add(session, reference)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.reference_deleted,
        subjects={"holder_id": reference.holder_id, "reference_id": reference.id},
    )
    delete_after_commit(session, storage, reference.storage_name)


def discard_unless_committed(session: Session, storage: Storage, name: str) -> None:
    """If the transaction does not commit, remove the object: it is ciphertext under a key
    nobody kept, and the store should hold nothing the database does not know about."""
    state = {"committed": False}

    def committed(_session: Session) -> None:
        state["committed"] = True

    def rolled_back(_session: Session, _previous: object) -> None:
        if not state["committed"]:
            state["committed"] = True  # act once
            try:
                storage.delete(name)
            except StorageError:
                log.warning("could not remove an uncommitted vault object")

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_soft_rollback", rolled_back, once=True)


def tombstone(reference: Reference) -> None:
    """Forget the object key and the content HMAC: the object is unreadable from here on."""
    reference.deleted_at = reference.deleted_at or utcnow()
    reference.wrapped_key = None
    reference.content_hmac = None


# -- orphan sweep -----------------------------------------------------------------------------


def sweep_orphans(
    session: Session, *, storage: Storage, older_than: timedelta, delete: bool
) -> list[str]:
    """Stored objects no live reference points to, older than `older_than`; delete them if asked.

    They arise only from interrupted work: a request that stored an object and then failed to
    commit, or a store that was unreachable when a deleted reference's object was removed.
    They are ciphertext whose key is gone either way; the sweep keeps the store honest. The
    age limit leaves alone objects of uploads that are still being committed.
    """
    # Only reference objects (`<holder>/ref_…`): sealed objects of other domains (verification
    # evidence, `<holder>/evd_…`) are known to their own tables, not to this one.
    names = [n for n in storage.names() if n.rpartition("/")[2].startswith("ref_")]
    live = repository.live_storage_names(session, names)
    cutoff = utcnow() - older_than
    orphans = []
    for name in names:
        if name in live:
            continue
        modified = storage.modified_at(name)
        if modified is None or modified > cutoff:
            continue
        orphans.append(name)
        if delete:
            storage.delete(name)
    return orphans


def references_of_holder(session: Session, holder_id: str) -> Sequence[Reference]:
    """Every reference row of a holder, deleted ones included (export, erasure)."""
    return repository.all_of_holder(session, holder_id)


def save_reference(session: Session, reference: Reference) -> None:
    repository.add(session, reference)
