"""C2SP signed notes, checkpoints and cosignatures (c2sp.org/signed-note, tlog-checkpoint,
tlog-cosignature), Ed25519 only.

A checkpoint is the note text `<origin>\\n<tree size>\\n<base64 root hash>\\n`, followed by a blank
line and signature lines `— <key name> base64(key ID || signature)`. The log signs with signature
type 0x01 (Ed25519 over the text); witnesses cosign with type 0x04 (an 8-byte big-endian POSIX
time, then Ed25519 over `cosignature/v1\\ntime <t>\\n` + the text). Key IDs are
`SHA-256(name || 0x0A || type || public key)[:4]`; verifier keys are `<name>+<hex key ID>+
base64(type || public key)`.

Pure (hashlib, base64, `cryptography`): the monitor and the offline tools use it without a
server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 64
MAX_NOTE_BYTES = 64 * 1024
_NAME = re.compile(r"^[^\s+]+$")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class NoteError(ValueError):
    """Text that is not a well-formed note, checkpoint or verifier key."""


def _b64(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4), as the specs use throughout."""
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError("not standard base64") from None


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """`SHA-256(name || 0x0A || type || public key)[:4]`."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32-byte RFC 8032 encoding of an Ed25519 public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key of one signature type (0x01 a log, 0x04 a witness)."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID signature lines carry for this key."""
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key text: `<name>+<hex key ID>+base64(type || public key)`."""
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([self.sig_type]) + self.public_key)}"

    def verify(self, text: str, signature: Signature) -> int | None:
        """Whether `signature` is this key's over `text`: None when it does not verify; else
        the cosignature's time (0 for a plain Ed25519 note signature)."""
        if signature.name != self.name or signature.key_id != self.key_id:
            return None
        message = text.encode("utf-8")
        raw = signature.signature
        timestamp = 0
        if self.sig_type == COSIGNATURE_V1:
            if len(raw) != 72:
                return None
            timestamp = int.from_bytes(raw[:8], "big")
            if timestamp >= 2**63:
                return None
            message = f"cosignature/v1\ntime {timestamp}\n".encode("ascii") + message
            raw = raw[8:]
        if len(raw) != 64:
            return None
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(raw, message)
        except (InvalidSignature, ValueError):
            return None
        return timestamp


def check_name(name: str) -> str:
    """`name` when it is a valid key name (non-empty, no Unicode space, no '+')."""
    if not name or not _NAME.match(name):
        raise NoteError(f"key name {name[:60]!r} is empty or holds a space or '+'")
    return name


def parse_verifier_key(text: str) -> Verifier:
    """A verifier key `<name>+<hex key ID>+base64(type || key)`, Ed25519 (0x01) or 0x04."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex key ID>+<base64 key>")
    name, hex_id, encoded = parts
    check_name(name)
    raw = _unb64(encoded)
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("only Ed25519 keys (type 0x01 or 0x04, 32 bytes) are supported")
    verifier = Verifier(name, raw[0], raw[1:])
    if hex_id.lower() != verifier.key_id.hex():
        raise NoteError(f"the key ID of {name} does not match its key")
    return verifier


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, 4-byte key ID, signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line as written in a note, newline included."""
        return f"{EM_DASH} {self.name} {_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: its text (final newline included) and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def parse_note(data: str | bytes) -> Note:
    """A signed note: text ending in a newline, a blank line, signature lines."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError("the note is too large")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8 text") from None
    if _CONTROL.search(data):
        raise NoteError("a note holds no control characters but newlines")
    cut = data.rfind("\n\n")
    if cut == -1 or not data.endswith("\n"):
        raise NoteError("a note is text, a blank line and signature lines, each ending in \\n")
    text, block = data[: cut + 1], data[cut + 2 :]
    signatures = []
    for line in block.split("\n")[:-1]:
        if not line.startswith(EM_DASH + " "):
            raise NoteError("a signature line starts with an em dash and a space")
        fields = line[2:].split(" ")
        if len(fields) != 2:
            raise NoteError("a signature line is '— <name> <base64 signature>'")
        name = check_name(fields[0])
        raw = _unb64(fields[1])
        if len(raw) < 5:
            raise NoteError("a signature is a 4-byte key ID and the signature bytes")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("the note has no signature")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError("the note has too many signatures")
    return Note(text, tuple(signatures))


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint tree head: the log's origin, tree size and RFC 6962 root hash."""

    origin: str
    tree_size: int
    root_hash: bytes

    @property
    def text(self) -> str:
        """The note text: origin, size and base64 root hash lines, each ending in a newline."""
        return f"{self.origin}\n{self.tree_size}\n{_b64(self.root_hash)}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The tree head of a checkpoint's note text (no extension lines are expected)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint is origin, tree size and root hash lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
        raise NoteError("the checkpoint's origin or tree size line is not valid")
    root_hash = _unb64(root)
    if len(root_hash) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def sign(text: str, name: str, key: Ed25519PrivateKey) -> Signature:
    """The log's Ed25519 note signature (type 0x01) over `text`."""
    kid = key_id(name, ED25519, raw_public_key(key))
    return Signature(name, kid, key.sign(text.encode("utf-8")))
