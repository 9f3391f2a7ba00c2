"""The log's signed-note checkpoints and the cosignatures of configured witnesses.

The registry signs each checkpoint as a C2SP `tlog-checkpoint` note with an Ed25519 key whose
32-byte seed is a service key (`checkpoint-note`, wrapped by the master key like the others).
Witnesses configured in `CONSENT_AUDIT_WITNESSES` (note verifier keys, type 0x04) send their
`tlog-cosignature` lines; each is checked against the log's own tree head at that size and kept
(`audit_cosignature`), and served with the checkpoint of that size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from consent_service.audit import note, repository, service
from consent_service.audit.service import ProofOutOfRange
from consent_service.audit.tree import LogTree, open_tree
from consent_service.crypto.keyring import CHECKPOINT_NOTE, Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow
from consent_service.errors import DomainError


class MalformedNote(DomainError):
    code, status, title = "malformed_note", 400, "Not a signed checkpoint note"


class UnknownWitness(DomainError):
    code, status, title = "unknown_witness", 403, "The cosignature is not from a configured witness"


class CosignedTreeHeadMismatch(DomainError):
    code, status, title = (
        "cosigned_tree_head_mismatch",
        409,
        "The cosigned checkpoint is not this log's tree head",
    )


class InvalidCosignature(DomainError):
    code, status, title = "invalid_cosignature", 422, "The cosignature does not verify"


def default_origin(issuer: str) -> str:
    """`<issuer host and path>/audit-log`: a schema-less URL without spaces or '+'."""
    parts = urlsplit(issuer)
    base = (parts.netloc + parts.path).rstrip("/") or "consent-service"
    return re.sub(r"[\s+]", "-", base) + "/audit-log"


def parse_witnesses(text: str) -> dict[tuple[str, bytes], note.Verifier]:
    """(name, key ID) -> verifier, from the setting's verifier keys (type 0x04 only)."""
    witnesses: dict[tuple[str, bytes], note.Verifier] = {}
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        verifier = note.parse_verifier_key(item)
        if verifier.sig_type != note.COSIGNATURE_V1:
            raise note.NoteError(f"witness {verifier.name}: a cosigner key has type 0x04")
        witnesses[(verifier.name, verifier.key_id)] = verifier
    return witnesses


@dataclass(frozen=True)
class CheckpointNotes:
    """Signs the log's checkpoints as notes and checks witnesses' cosignatures."""

    keyring: Keyring
    origin: str
    witnesses: dict[tuple[str, bytes], note.Verifier]

    @classmethod
    def from_settings(cls, settings: Any, keyring: Keyring) -> CheckpointNotes:
        origin = settings.audit_log_origin or default_origin(settings.issuer)
        note.check_name(origin)
        return cls(keyring, origin, parse_witnesses(settings.audit_witnesses))

    def _key(self, session: Session) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(
            self.keyring.service_key(session, CHECKPOINT_NOTE)
        )

    def verifier(self, session: Session) -> note.Verifier:
        """The log's own verifier key (type 0x01, named by the origin)."""
        return note.Verifier(self.origin, note.ED25519, note.raw_public_key(self._key(session)))

    def checkpoint_text(self, tree: LogTree) -> str:
        return note.Checkpoint(self.origin, tree.tree_size, tree.root()).text

    def signed_checkpoint(self, session: Session, *, tree_size: int | None) -> str:
        """The checkpoint of `tree_size` (default: the committed size) as a signed note, with
        the cosignatures kept for it."""
        committed = repository.committed_size(session)
        size = committed if tree_size is None else tree_size
        if not 0 <= size <= committed:
            raise ProofOutOfRange(f"tree_size must be between 0 and {committed}")
        tree = open_tree(session, size)
        own = self.own_note(session, tree)
        service.keep_signed(session, tree, signed_note=own)
        root = tree.root().hex()
        lines = [
            row.signature_line
            for row in repository.cosignatures_at(session, size)
            if row.root_hash == root
        ]
        return own + "".join(lines)

    def own_note(self, session: Session, tree: LogTree) -> str:
        """The checkpoint of `tree` as a note signed by the log alone (not kept here)."""
        text = self.checkpoint_text(tree)
        return text + "\n" + note.sign(text, self.origin, self._key(session)).line

    def add_cosignatures(self, session: Session, body: bytes) -> dict[str, Any]:
        """Keep the witnesses' cosignatures on a checkpoint note; refuse, writing nothing, a
        note that is not this log's tree head, a signature from an unknown witness, or one
        that does not verify."""
        try:
            parsed = note.parse_note(body)
            head = note.parse_checkpoint(parsed.text)
        except note.NoteError as exc:
            raise MalformedNote(str(exc)) from exc
        if head.origin != self.origin:
            raise CosignedTreeHeadMismatch(
                f"the checkpoint names the log {head.origin[:80]!r}, this log is {self.origin!r}",
                origin=self.origin,
            )
        committed = repository.committed_size(session)
        if head.tree_size > committed:
            raise CosignedTreeHeadMismatch(
                f"this log has {committed} events, not {head.tree_size}", tree_size=committed
            )
        tree = open_tree(session, head.tree_size)
        if tree.root() != head.root_hash or parsed.text != self.checkpoint_text(tree):
            raise CosignedTreeHeadMismatch(
                f"the root hash at tree size {head.tree_size} is not the one cosigned",
                tree_size=head.tree_size,
            )
        log_key = self.verifier(session)
        accepted: list[tuple[note.Verifier, note.Signature, int]] = []
        for signature in parsed.signatures:
            if (signature.name, signature.key_id) == (log_key.name, log_key.key_id):
                continue  # the log's own signature travels with the note
            witness = self.witnesses.get((signature.name, signature.key_id))
            if witness is None:
                raise UnknownWitness(
                    f"{signature.name[:80]!r} (key ID {signature.key_id.hex()}) is not a "
                    "configured witness",
                    witnesses=sorted(w.name for w in self.witnesses.values()),
                )
            timestamp = witness.verify(parsed.text, signature)
            if timestamp is None:
                raise InvalidCosignature(f"the cosignature of {witness.name} does not verify")
            accepted.append((witness, signature, timestamp))
        if not accepted:
            raise MalformedNote("the note carries no cosignature")
        # A cosigned head is one the log signed: keep it in the history if it is not yet (a
        # note signed before the history was kept, or by an earlier deployment).
        service.keep_signed(session, tree)
        now = utcnow()
        for witness, signature, timestamp in accepted:
            repository.put_cosignature(
                session,
                witness=witness.name,
                tree_size=head.tree_size,
                root_hash=head.root_hash.hex(),
                cosigned_at=datetime.fromtimestamp(min(timestamp, 2**40), UTC),
                signature_line=signature.line,
                received_at=now,
            )
        return {
            "tree_size": head.tree_size,
            "witnesses": sorted(w.name for w, _, _ in accepted),
        }


@dataclass(frozen=True)
class CheckpointKeeper:
    """Keeps each tree head the first time a checkpoint of its size is signed, in both forms
    (audit_signed_checkpoint): the form just signed, and the other one signed now.

    Bound to every session by the composition root (`service.bind_checkpoint_keeper`). A PK
    lookup when the size is kept already; else one insert-or-ignore in the caller's
    transaction, so concurrent first readers of a size leave one row.
    """

    signer: Signer
    notes: CheckpointNotes

    def __call__(
        self,
        session: Session,
        tree: LogTree,
        checkpoint: dict[str, Any] | None,
        signed_note: str | None,
    ) -> None:
        if repository.signed_checkpoint_kept(session, tree.tree_size):
            return
        if checkpoint is None:
            checkpoint = service.sign_checkpoint(session, signer=self.signer, tree=tree)
        if signed_note is None:
            signed_note = self.notes.own_note(session, tree)
        repository.keep_signed_checkpoint(
            session,
            tree_size=tree.tree_size,
            root_hash=checkpoint["root_hash"],
            signed_at=datetime.fromisoformat(checkpoint["timestamp"]),
            signature=checkpoint["signature"],
            note=signed_note,
        )
