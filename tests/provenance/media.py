"""Small media files for the provenance tests, made here: Pillow, `wave`, and a hand-built MP4.

The MP4 is a minimal ISO BMFF file (ISO/IEC 14496-12) built box by box, so the tests need no
encoder: `ftyp`, a `moov` with one video track whose sample table points (`stco`) at the one
sample in `mdat`. Signing inserts the C2PA box and must move that offset; `sample_of_mp4`
follows it back to check the file still holds together.
"""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import mutagen.mp4
from PIL import Image

MP4_SAMPLE = b"\x00\x00\x00\x0c" + b"synthetic-frame" + b"\x65" * 45


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 40, 90)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (32, 24), (10, 120, 200, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(struct.pack("<800h", *((i * 37) % 2000 - 1000 for i in range(800))))
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def mp4() -> bytes:
    """A one-frame MP4 (brand isom) whose stco points at the frame in mdat."""
    created = 3_800_000_000  # seconds since 1904
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(
        b"mvhd",
        struct.pack(">IIII", created, created, 1000, 40)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\x00" * 10
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )
    tkhd = _full(
        b"tkhd",
        struct.pack(">IIIII", created, created, 1, 0, 40)
        + b"\x00" * 8
        + struct.pack(">HHHH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", 32 << 16, 24 << 16),
        flags=3,
    )
    mdhd = _full(b"mdhd", struct.pack(">IIIIHH", created, created, 1000, 40, 0x55C4, 0))
    hdlr = _full(b"hdlr", b"\x00" * 4 + b"vide" + b"\x00" * 12 + b"Video\x00")

    def stbl(chunk_offset: int) -> bytes:
        return _box(
            b"stbl",
            _full(b"stsd", struct.pack(">I", 0))
            + _full(b"stts", struct.pack(">III", 1, 1, 40))
            + _full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
            + _full(b"stsz", struct.pack(">III", 0, 1, len(MP4_SAMPLE)))
            + _full(b"stco", struct.pack(">II", 1, chunk_offset)),
        )

    def moov(chunk_offset: int) -> bytes:
        minf = _box(b"minf", _full(b"vmhd", b"\x00" * 8, flags=1) + stbl(chunk_offset))
        trak = _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf))
        return _box(b"moov", mvhd + trak)

    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    # The frame sits just past mdat's header, after ftyp and moov (whose size does not depend
    # on the offset's value).
    offset = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(offset) + _box(b"mdat", MP4_SAMPLE)


def sample_of_mp4(data: bytes) -> bytes:
    """The bytes the first `stco` entry points at (one sample of len(MP4_SAMPLE) bytes)."""
    at = data.index(b"stco")
    (offset,) = struct.unpack(">I", data[at + 12 : at + 16])
    return data[offset : offset + len(MP4_SAMPLE)]


def content_of(kind: str, data: bytes) -> Any:
    """What a player or viewer would show: pixels, audio frames, or the MP4's frame and length.

    Read with independent parsers (Pillow, `wave`, mutagen), so a signed file that still holds
    the same content is shown to be a well-formed file of its type, not just a manifest carrier.
    """
    if kind in ("jpeg", "png"):
        with Image.open(io.BytesIO(data)) as image:
            return image.size, image.tobytes()
    if kind == "wav":
        with wave.open(io.BytesIO(data), "rb") as audio:
            return audio.getparams(), audio.readframes(audio.getnframes())
    movie = mutagen.mp4.MP4(io.BytesIO(data))
    return movie.info.length, sample_of_mp4(data)


MAKERS = {"jpeg": jpeg, "png": png, "wav": wav, "mp4": mp4}
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "wav": ".wav", "mp4": ".mp4"}


def tamper_content(kind: str, data: bytes) -> bytes:
    """`data` with one byte of the content (not of the manifest) changed."""
    marker = {"jpeg": b"\xff\xda", "png": b"IDAT", "wav": b"data", "mp4": b"mdat"}[kind]
    # WAV carries its manifest in a chunk after the audio (whose labels contain "data"); the
    # others carry it before the content, or in a box of its own.
    at = (data.index(marker) if kind == "wav" else data.rindex(marker)) + len(marker) + 6
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def break_claim_signature(data: bytes) -> bytes:
    """`data` with one byte of the manifest's COSE signature (64-byte CBOR bstr) changed."""
    label = data.index(b"c2pa.signature")
    # The signature box's content box (`cbor`) follows its description box (`jumd`).
    content = data.index(b"cbor", label) - 4
    (size,) = struct.unpack(">I", data[content : content + 4])
    at = data.rindex(b"\x58\x40", content, content + size) + 2 + 10
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)
