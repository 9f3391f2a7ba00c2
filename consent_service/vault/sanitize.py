"""Type sniffing and de-identification of uploaded reference media.

The type is decided from the bytes (magic numbers), never from the file name or the
Content-Type the client sent; then the matching library must parse the file, or it is refused.
What identifies a person or a device beyond the likeness itself is removed, and the names of
what was removed are returned (they go back to the holder as `stripped_metadata`):

- Images (JPEG, PNG, WebP), with Pillow: the EXIF orientation is applied to the pixels, then
  the pixels are re-encoded into a new file that carries no EXIF (GPS position, camera make,
  model and serial numbers, owner/artist, timestamps), XMP, IPTC/Photoshop blocks, ICC
  profile (converted to sRGB first so colours stay right), comments or PNG text chunks.
  Only the first frame of an animated image is kept.
- MP3, with mutagen: ID3v2, ID3v1 and APEv2 tags are deleted.
- FLAC, with mutagen: Vorbis comments, pictures, application and cue-sheet blocks and any
  ID3 tag are removed; STREAMINFO and SEEKTABLE stay.
- Ogg (Vorbis, Opus, FLAC, Speex), with mutagen: the comment header is emptied.
- WAV: validated by mutagen, then rewritten keeping only the `fmt `, `fact` and `data`
  chunks (a whitelist: LIST/INFO, bext, iXML, ID3 and anything unknown are dropped).
- MP4, with mutagen's atom reader: `udta`, `meta` and `uuid` boxes (iTunes tags, QuickTime
  ©xyz location, make/model/software, XMP) are neutralised in place: their type becomes `free`
  and their payload is zeroed, so that no sample offset moves. Creation and modification times
  in `mvhd`, `tkhd` and `mdhd` are zeroed. Files with tracks other than video and sound (timed
  metadata such as GPS or camera-motion tracks, timecode, text) are refused: those tracks can
  carry location and cannot be removed without remuxing.

Memory is bounded by design, not by file size: a small PNG can declare 7000 x 7000 pixels and
decode to 150 MB. `MediaCleaner` (one per service, built by wiring.py) reads an image's header
only (`Image.open` is lazy) and refuses it (`ImageTooLargeDecoded`, 413) when its decoded size,
width x height x bytes per pixel x frames, is past the budget, before anything is decoded;
cleaning then makes at most one full-size copy beside the decoded original (in-place
orientation and colour conversion). At most `slots` files are cleaned at once; an upload past
that waits `wait_seconds` for a slot and then answers 503 with Retry-After (`CleaningBusy`).
So the memory of cleaning stays under about slots x 2 x budget whatever is uploaded.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from consent_service.errors import DomainError, UnsupportedMediaType

MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True, slots=True)
class MediaType:
    content_type: str
    family: str  # "image" | "audio" | "video"
    pillow_format: str | None = None


JPEG = MediaType("image/jpeg", "image", "JPEG")
PNG = MediaType("image/png", "image", "PNG")
WEBP = MediaType("image/webp", "image", "WEBP")
WAV = MediaType("audio/wav", "audio")
FLAC = MediaType("audio/flac", "audio")
MP3 = MediaType("audio/mpeg", "audio")
OGG = MediaType("audio/ogg", "audio")
MP4 = MediaType("video/mp4", "video")
MEDIA_TYPES = (JPEG, PNG, WEBP, WAV, FLAC, MP3, OGG, MP4)
MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"MSNV",
        b"dash",
        b"mmp4",
        b"f4v ",
    }
)
SNIFF_BYTES = 16


class UnsupportedMedia(UnsupportedMediaType):
    code, title = "unsupported_media_type", "Only JPEG, PNG, WebP, WAV, FLAC, MP3, OGG and MP4"


class UnreadableMedia(DomainError):
    code, status, title = "unreadable_media", 422, "The file does not parse as its type"


class MediaRefused(DomainError):
    code, status, title = "media_refused", 422, "The file carries data that cannot be removed"


class ImageTooLarge(MediaRefused):
    code, title = "image_too_large", "The image has too many pixels"


class ImageTooLargeDecoded(DomainError):
    code, status, title = (
        "image_too_large_decoded",
        413,
        "The image would take too much memory to decode",
    )


class CleaningBusy(DomainError):
    code, status, title = (
        "media_cleaning_busy",
        503,
        "Too many uploads are being cleaned at once; retry shortly",
    )


class Mp4TrackRefused(MediaRefused):
    code, title = "mp4_track_refused", "The MP4 has a track that may carry location or time"


def _is_mpeg_frame(head: bytes) -> bool:
    # Frame sync (11 bits), MPEG version not reserved, layer III.
    return (
        len(head) >= 2
        and head[0] == 0xFF
        and (head[1] & 0xE0) == 0xE0
        and (head[1] >> 3) & 0x03 != 0x01
        and (head[1] >> 1) & 0x03 == 0x01
    )


def sniff_family(head: bytes) -> str | None:
    """The media family from the first SNIFF_BYTES bytes, to pick the size limit while receiving.

    None means "not a type we take" (or too short to tell yet).
    """
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head.startswith((b"fLaC", b"OggS", b"ID3")) or _is_mpeg_frame(head):
        return "audio"
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video"
    return None


def sniff(path: Path) -> MediaType:
    """The exact type of a received file, from its bytes; `UnsupportedMedia` otherwise."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return WEBP
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return WAV
        if head.startswith(b"fLaC"):
            return FLAC
        if head.startswith(b"OggS"):
            return OGG
        if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
            return MP4
        if head.startswith(b"ID3") and len(head) >= 10:
            # An ID3v2 tag may precede FLAC or MPEG audio: look behind it (syncsafe size).
            size = 0
            for byte in head[6:10]:
                size = (size << 7) | (byte & 0x7F)
            footer = 10 if head[5] & 0x10 else 0
            fh.seek(10 + size + footer)
            after = fh.read(4)
            return FLAC if after.startswith(b"fLaC") else MP3
        if _is_mpeg_frame(head):
            return MP3
    raise UnsupportedMedia()


# Bytes per pixel of Pillow's modes once decoded (a mode not listed counts as 4).
_MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "La": 2,
    "PA": 2,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}


def decoded_bytes(width: int, height: int, mode: str, frames: int = 1) -> int:
    """The memory the pixels take once decoded, from the header alone."""
    return width * height * _MODE_BYTES.get(mode, 4) * max(1, frames)


@dataclass(frozen=True)
class MediaCleaner:
    """Cleans files within a memory budget and a number of concurrent slots (module docstring).

    One instance per service, owned by the composition root (wiring.Services).
    """

    max_decoded_bytes: int
    slots: int
    wait_seconds: float
    _gate: threading.BoundedSemaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from PIL import Image

        # Pillow's own decompression-bomb check, consistent with the budget: no mode takes
        # less than a byte per pixel, so an image past it is past the budget too (refused in
        # `_clean_image` as ImageTooLargeDecoded, never a 500).
        Image.MAX_IMAGE_PIXELS = self.max_decoded_bytes
        object.__setattr__(self, "_gate", threading.BoundedSemaphore(self.slots))

    def clean(self, src: Path, dst: Path, media: MediaType) -> list[str]:
        """`clean`, in one of the slots; `CleaningBusy` when none frees in `wait_seconds`."""
        if not self._gate.acquire(timeout=self.wait_seconds):
            raise CleaningBusy(retry_after_seconds=max(1, round(self.wait_seconds)))
        try:
            return clean(src, dst, media, max_decoded_bytes=self.max_decoded_bytes)
        finally:
            self._gate.release()


def clean(src: Path, dst: Path, media: MediaType, *, max_decoded_bytes: int) -> list[str]:
    """Write a de-identified copy of `src` to `dst`; return the names of what was removed."""
    try:
        if media.family == "image":
            stripped = _clean_image(src, dst, media, max_decoded_bytes)
        elif media is MP3:
            stripped = _clean_mp3(src, dst)
        elif media is FLAC:
            stripped = _clean_flac(src, dst)
        elif media is OGG:
            stripped = _clean_ogg(src, dst)
        elif media is WAV:
            stripped = _clean_wav(src, dst)
        elif media is MP4:
            stripped = _clean_mp4(src, dst)
        else:  # pragma: no cover - MEDIA_TYPES is closed
            raise UnsupportedMedia()
    except DomainError:
        raise
    except (OSError, ValueError, EOFError, SyntaxError, struct.error, IndexError) as exc:
        # Pillow and mutagen raise these (or subclasses: mutagen.MutagenError is an
        # OSError... for some formats, ValueError for others) on malformed or truncated input.
        raise UnreadableMedia(f"The file does not parse as {media.content_type}") from exc
    except Exception as exc:  # mutagen's format errors that derive from Exception only
        if type(exc).__module__.startswith(("mutagen", "PIL")):
            raise UnreadableMedia(f"The file does not parse as {media.content_type}") from exc
        raise
    return sorted(set(stripped))


# -- images -----------------------------------------------------------------------------------

_EXIF_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_CAMERA_TAGS = {0x010F, 0x0110, 0x0131}  # Make, Model, Software
_OWNER_TAGS = {0x013B, 0x8298}  # Artist, Copyright
_TIME_TAGS = {0x0132}  # DateTime
_EXIF_SERIAL_TAGS = {0xA431, 0xA435, 0xA430}  # BodySerialNumber, LensSerialNumber, CameraOwnerName
_EXIF_TIME_TAGS = {0x9003, 0x9004}  # DateTimeOriginal, DateTimeDigitized


def _image_metadata(im: Any) -> list[str]:
    found: list[str] = []
    exif = im.getexif()
    if len(exif) or im.info.get("exif"):
        found.append("exif")
        if exif.get_ifd(_EXIF_GPS_IFD):
            found.append("exif.gps")
        tags = set(exif.keys())
        sub = set(exif.get_ifd(_EXIF_IFD).keys())
        if tags & _CAMERA_TAGS:
            found.append("exif.camera")
        if tags & _OWNER_TAGS or 0xA430 in sub:
            found.append("exif.owner")
        if sub & {0xA431, 0xA435}:
            found.append("exif.serial_numbers")
        if tags & _TIME_TAGS or sub & _EXIF_TIME_TAGS:
            found.append("exif.timestamps")
        if exif.get(0x0112, 1) != 1:
            found.append("exif.orientation")
    info = im.info
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        found.append("xmp")
    if info.get("photoshop") or any(m == "APP13" for m, _ in getattr(im, "applist", [])):
        found.append("iptc")
    if info.get("icc_profile"):
        found.append("icc_profile")
    if info.get("comment"):
        found.append("comment")
    text = getattr(im, "text", None)
    if text and any(k != "XML:com.adobe.xmp" for k in text):
        found.append("png_text")
    if getattr(im, "n_frames", 1) > 1:
        found.append("animation_frames")
    return found


def _to_srgb_in_place(im: Any, icc: bytes) -> None:
    """Convert pixels from their embedded profile to sRGB, so dropping the profile keeps colour."""
    from PIL import ImageCms

    if im.mode not in ("RGB", "RGBA"):
        return
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        ImageCms.profileToProfile(im, source, target, outputMode=im.mode, inPlace=True)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return  # an unusable profile: drop it and keep the pixels as they are


def _clean_image(src: Path, dst: Path, media: MediaType, max_decoded_bytes: int) -> list[str]:
    from PIL import Image, ImageOps

    too_large = ImageTooLargeDecoded(
        f"Images may take at most {max_decoded_bytes} bytes once decoded "
        "(width x height x bytes per pixel); send a smaller image"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(src, formats=[media.pillow_format or ""])  # the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_large from exc
    with im:
        if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
            raise ImageTooLarge(f"Images may have at most {MAX_IMAGE_PIXELS} pixels")
        frames = getattr(im, "n_frames", 1)
        if decoded_bytes(im.size[0], im.size[1], im.mode, frames) > max_decoded_bytes:
            raise too_large
        found = _image_metadata(im)
        icc = im.info.get("icc_profile")
        transparency = im.info.get("transparency")
        im.load()  # decode now (the first frame only): a truncated file fails here
        # From here at most one full-size copy exists beside the decoded pixels: orientation
        # and colour conversion work in place, and a mode conversion frees its source.
        ImageOps.exif_transpose(im, in_place=True)
        if icc:
            _to_srgb_in_place(im, icc)
        # Pillow writes some of `info` back on save (ICC, comment, transparency): keep only
        # what the pixels need.
        im.info = {"transparency": transparency} if transparency is not None else {}
        fmt = media.pillow_format
        if fmt == "JPEG":
            if im.mode not in ("RGB", "L", "CMYK"):
                converted = im.convert("RGB")
                converted.save(dst, "JPEG", quality=95, exif=b"", icc_profile=None)
                converted.close()
            else:
                im.save(dst, "JPEG", quality=95, exif=b"", icc_profile=None)
        elif fmt == "PNG":
            im.save(dst, "PNG", exif=b"", icc_profile=None)
        else:
            im.save(dst, "WEBP", quality=95, exif=b"", icc_profile="", xmp="")
    # The original's pixels are freed (closed above) before the result is decoded to check it.
    # The result must itself be a clean, readable image of the same type.
    with Image.open(dst) as check:
        check.load()
        left = [m for m in _image_metadata(check) if m != "animation_frames"]
        if left:
            raise RuntimeError(f"metadata survived re-encoding: {left}")
    return found


# -- audio ------------------------------------------------------------------------------------


def _clean_mp3(src: Path, dst: Path) -> list[str]:
    from mutagen import apev2, id3
    from mutagen.mp3 import MP3 as Mp3File

    Mp3File(src)  # 1. MPEG frames must be found
    found: list[str] = []
    try:
        id3.ID3(src)
        found.append("id3v2")
    except id3.ID3NoHeaderError:
        pass
    with open(src, "rb") as fh:
        fh.seek(0, io.SEEK_END)
        if fh.tell() >= 128:
            fh.seek(-128, io.SEEK_END)
            if fh.read(3) == b"TAG":
                found.append("id3v1")
    try:
        apev2.APEv2(src)
        found.append("apev2")
    except apev2.APENoHeaderError:
        pass
    shutil.copyfile(src, dst)
    id3.delete(dst, delete_v1=True, delete_v2=True)
    apev2.delete(dst)
    Mp3File(dst)  # 2. still audio after the tags went
    return found


def _clean_flac(src: Path, dst: Path) -> list[str]:
    from mutagen.flac import FLAC as FlacFile

    shutil.copyfile(src, dst)
    audio = FlacFile(dst)
    found: list[str] = []
    with open(dst, "rb") as fh:
        if fh.read(3) == b"ID3":
            found.append("id3v2")
    keep = []
    for block in audio.metadata_blocks:
        code = getattr(block, "code", None)
        if code in (0, 3):  # STREAMINFO, SEEKTABLE
            keep.append(block)
        elif code == 4:
            if len(block):
                found.append("vorbis_comment")
        elif code == 6:
            found.append("flac_picture")
        elif code == 2:
            found.append("flac_application")
        elif code == 5:
            found.append("flac_cuesheet")
    audio.metadata_blocks = keep
    audio.tags = None
    audio.cuesheet = None
    audio.save(deleteid3=True)
    FlacFile(dst)
    return found


def _clean_ogg(src: Path, dst: Path) -> list[str]:
    import mutagen

    audio = mutagen.File(src)
    kind = type(audio).__name__ if audio is not None else ""
    if kind not in {"OggVorbis", "OggOpus", "OggFLAC", "OggSpeex"}:
        if kind == "OggTheora":
            raise UnsupportedMedia("Ogg video (Theora) is not taken; upload MP4")
        raise UnreadableMedia("The file does not parse as Ogg audio")
    found = ["vorbis_comment"] if audio is not None and audio.tags and len(audio.tags) else []
    shutil.copyfile(src, dst)
    cleaned = mutagen.File(dst)
    cleaned.delete()
    return found


_WAV_KEEP = {b"fmt ", b"fact", b"data"}


def _riff_chunks(fh: BinaryIO, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(id, data offset, data size) of each chunk of a RIFF body; checks sizes against `end`."""
    pos = 12
    while pos + 8 <= end:
        fh.seek(pos)
        chunk_id, size = struct.unpack("<4sI", fh.read(8))
        if pos + 8 + size > end:
            raise UnreadableMedia("A WAV chunk runs past the end of the file (truncated?)")
        yield chunk_id, pos + 8, size
        pos += 8 + size + (size & 1)


def _clean_wav(src: Path, dst: Path) -> list[str]:
    from mutagen.wave import WAVE

    WAVE(src)  # 1. a RIFF/WAVE with a format chunk
    found: list[str] = []
    with open(src, "rb") as fh, open(dst, "wb") as out:
        fh.seek(0, io.SEEK_END)
        end = fh.tell()
        out.write(b"RIFF\x00\x00\x00\x00WAVE")
        kept: set[bytes] = set()
        for chunk_id, offset, size in list(_riff_chunks(fh, end)):
            if chunk_id not in _WAV_KEEP:
                label = chunk_id.decode("latin-1").strip().lower() or "unnamed"
                found.append(f"riff_{label}")
                continue
            kept.add(chunk_id)
            out.write(struct.pack("<4sI", chunk_id, size))
            _copy_range(fh, out, offset, size)
            if size & 1:
                out.write(b"\x00")
        if not {b"fmt ", b"data"} <= kept:
            raise UnreadableMedia("A WAV file needs a fmt and a data chunk")
        riff_size = out.tell() - 8
        out.seek(4)
        out.write(struct.pack("<I", riff_size))
    WAVE(dst)  # 2. still a valid WAV
    return found


def _copy_range(src: BinaryIO, dst: BinaryIO, offset: int, size: int) -> None:
    """Copy `size` bytes at `offset` of `src` to the end of `dst` (in the kernel if it can)."""
    dst.flush()
    remaining = size
    position = offset
    copy_file_range = getattr(os, "copy_file_range", None)
    if copy_file_range is not None:
        try:
            while remaining:
                done = copy_file_range(src.fileno(), dst.fileno(), remaining, position)
                if done == 0:
                    raise UnreadableMedia("The WAV file is truncated")
                remaining -= done
                position += done
            dst.seek(0, io.SEEK_END)
            return
        except OSError:
            dst.seek(0, io.SEEK_END)  # e.g. not supported here: copy the rest in user space
    src.seek(position)
    while remaining:
        piece = src.read(min(remaining, 1024 * 1024))
        if not piece:
            raise UnreadableMedia("The WAV file is truncated")
        dst.write(piece)
        remaining -= len(piece)


# -- video ------------------------------------------------------------------------------------

_NEUTRALISE = {b"udta": "mp4_udta", b"meta": "mp4_meta", b"uuid": "mp4_uuid"}
_TIMESTAMPED = {b"mvhd", b"tkhd", b"mdhd"}
_ALLOWED_HANDLERS = {b"vide", b"soun"}


def _walk(atoms: list[Any]) -> Iterator[Any]:
    for atom in atoms:
        yield atom
        if atom.children:
            yield from _walk(atom.children)


def _clean_mp4(src: Path, dst: Path) -> list[str]:
    from mutagen.mp4 import MP4 as Mp4File
    from mutagen.mp4 import Atoms

    Mp4File(src)  # 1. a movie with a moov box and a readable track
    shutil.copyfile(src, dst)
    found: list[str] = []
    with open(dst, "r+b") as fh:
        tree = Atoms(fh)
        # 2. Only video and sound tracks: a timed-metadata track may be a GPS trace.
        for trak in tree.path(b"moov")[-1].findall(b"trak"):
            hdlr = _find(trak, (b"mdia", b"hdlr"))
            if hdlr is None:
                raise UnreadableMedia("An MP4 track has no handler")
            fh.seek(hdlr._dataoffset + 8)  # version/flags (4), pre_defined (4)
            handler = fh.read(4)
            if handler not in _ALLOWED_HANDLERS:
                raise Mp4TrackRefused(
                    f"The MP4 has a {handler.decode('latin-1')!r} track (timed metadata, "
                    "timecode or text); export the video without it"
                )
        # 3. Neutralise metadata boxes in place (type -> free, payload zeroed): nothing moves.
        for atom in list(_walk(tree.atoms)):
            label = _NEUTRALISE.get(atom.name)
            if label is not None:
                found.append(label)
                fh.seek(atom.offset + 4)
                fh.write(b"free")
                _zero(fh, atom._dataoffset, atom.offset + atom.length)
            elif atom.name in _TIMESTAMPED and _zero_times(fh, atom):
                found.append("mp4_timestamps")
    Mp4File(dst)  # 4. still a playable structure
    return found


def _find(atom: Any, path: tuple[bytes, ...]) -> Any:
    for name in path:
        if not atom.children:
            return None
        matches = [child for child in atom.children if child.name == name]
        if not matches:
            return None
        atom = matches[0]
    return atom


def _zero(fh: BinaryIO, start: int, end: int) -> None:
    fh.seek(start)
    remaining = end - start
    block = b"\x00" * min(remaining, 1024 * 1024)
    while remaining > 0:
        n = min(remaining, len(block))
        fh.write(block[:n])
        remaining -= n


def _zero_times(fh: BinaryIO, atom: Any) -> bool:
    """Zero creation and modification time of an mvhd/tkhd/mdhd box; True if any was set."""
    fh.seek(atom._dataoffset)
    version = fh.read(1)
    if not version:
        return False
    width = 8 if version[0] == 1 else 4
    start = atom._dataoffset + 4
    fh.seek(start)
    times = fh.read(2 * width)
    if len(times) != 2 * width or not any(times):
        return False
    fh.seek(start)
    fh.write(b"\x00" * (2 * width))
    return True
