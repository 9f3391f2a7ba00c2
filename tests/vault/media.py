"""Small media files made in the tests, each carrying identifying metadata to be stripped."""

from __future__ import annotations

import functools
import io
import struct
import wave
import zlib
from pathlib import Path

from PIL import Image

GPS_LATITUDE = (51.0, 30.0, 26.46)
SERIAL = "SN-4471-CAMERA"
OWNER = "Imogen Testperson"
LOCATION = b"+51.5074-000.1278/"


def jpeg_with_gps(size: tuple[int, int] = (64, 32), orientation: int = 6) -> bytes:
    """A JPEG with GPS position, camera serial, owner, timestamps, orientation and a comment."""
    im = Image.new("RGB", size, (200, 30, 30))
    # A marker pixel block in the top-left, to check that orientation is applied.
    for x in range(8):
        for y in range(8):
            im.putpixel((x, y), (0, 0, 255))
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x013B] = OWNER  # Artist
    exif[0x0132] = "2026:11:21 10:00:00"  # DateTime
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 40.0)
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = SERIAL  # BodySerialNumber
    sub[0x9003] = "2026:11:21 10:00:00"  # DateTimeOriginal
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", exif=exif, comment=b"shot by " + OWNER.encode())
    return buffer.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    im = Image.new("RGBA", (16, 16), (10, 200, 10, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", OWNER)
    info.add_text("Location", LOCATION.decode())
    buffer = io.BytesIO()
    im.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def webp_with_exif() -> bytes:
    im = Image.new("RGB", (16, 16), (10, 10, 200))
    exif = Image.Exif()
    exif[0x013B] = OWNER
    buffer = io.BytesIO()
    im.save(buffer, "WEBP", exif=exif)
    return buffer.getvalue()


def wav_with_info(seconds: float = 0.1, frames: int | None = None) -> bytes:
    """A PCM WAV with a LIST/INFO chunk naming the artist (the wave module writes the rest)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        n = frames if frames is not None else int(8000 * seconds)
        w.writeframes(b"\x01\x02" * n)
    raw = buffer.getvalue()
    name = OWNER.encode() + b"\x00"
    if len(name) % 2:
        name += b"\x00"
    info = b"INFO" + b"IART" + struct.pack("<I", len(name)) + name
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = raw[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def mp3_frames(count: int = 30) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz, silent (all-zero side info)."""
    header = b"\xff\xfb\x90\x64"
    frame = header + b"\x00" * (417 - len(header))
    return frame * count


def mp3_with_id3(path: Path) -> bytes:
    from mutagen.id3 import APIC, COMM, ID3, TDRC, TIT2, TPE1

    path.write_bytes(mp3_frames() + b"TAG" + OWNER.encode().ljust(125, b"\x00"))
    tags = ID3()
    tags.add(TPE1(encoding=3, text=[OWNER]))
    tags.add(TIT2(encoding=3, text=["voice sample"]))
    tags.add(TDRC(encoding=3, text=["2026-11-21"]))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=[f"recorded at {LOCATION.decode()}"]))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="cover", data=png_with_text()))
    tags.save(path)
    return path.read_bytes()


def flac_with_comments(path: Path) -> bytes:
    from mutagen.flac import FLAC, Picture

    # STREAMINFO: block sizes 4096, frame sizes unknown, 8 kHz, mono, 16 bit, 800 samples.
    info = struct.pack(">HH", 4096, 4096) + b"\x00" * 6
    packed = (8000 << 44) | (0 << 41) | (15 << 36) | 800
    info += packed.to_bytes(8, "big") + b"\x00" * 16
    block = bytes([0x80]) + len(info).to_bytes(3, "big") + info
    path.write_bytes(b"fLaC" + block + b"\xff\xf8" + b"\x00" * 64)
    audio = FLAC(path)
    audio.add_tags()
    audio["ARTIST"] = OWNER
    audio["LOCATION"] = LOCATION.decode()
    picture = Picture()
    picture.data = png_with_text()
    picture.mime = "image/png"
    audio.add_picture(picture)
    audio.save()
    return path.read_bytes()


def ogg_opus_with_comments() -> bytes:
    from mutagen.ogg import OggPage

    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"test"
    comments = [b"ARTIST=" + OWNER.encode(), b"LOCATION=" + LOCATION]
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    for c in comments:
        tags += struct.pack("<I", len(c)) + c
    pages = []
    for seq, (packet, granule, first) in enumerate(
        [(head, 0, True), (tags, 0, False), (b"\xfc\xff\xfe", 960 + 312, False)]
    ):
        page = OggPage()
        page.serial = 0x1234
        page.sequence = seq
        page.position = granule
        page.first = first
        page.last = seq == 2
        page.packets = [packet]
        pages.append(page.write())
    return b"".join(pages)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + payload)


def _trak(track_id: int, handler: bytes, created: int) -> bytes:
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = _full(
        b"tkhd",
        struct.pack(">IIIII", created, created, track_id, 0, 1000)
        + b"\x00" * 8
        + struct.pack(">hhhH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", 64 << 16, 64 << 16),
    )
    mdhd = _full(b"mdhd", struct.pack(">IIIIHH", created, created, 1000, 1000, 0x55C4, 0))
    hdlr = _full(b"hdlr", b"\x00" * 4 + handler + b"\x00" * 12 + b"Handler\x00")
    stbl = _box(
        b"stbl",
        _full(b"stsd", struct.pack(">I", 0))
        + _full(b"stts", struct.pack(">I", 0))
        + _full(b"stsc", struct.pack(">I", 0))
        + _full(b"stsz", struct.pack(">II", 0, 0))
        + _full(b"stco", struct.pack(">I", 0)),
    )
    minf = _box(b"minf", stbl)
    return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf))


def mp4_with_location(extra_track: bytes | None = None) -> bytes:
    """A minimal MP4: one video track, a ©xyz location and device tags in moov/udta and meta."""
    created = 3_800_000_000  # seconds since 1904
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(
        b"mvhd",
        struct.pack(">IIII", created, created, 1000, 1000)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\x00" * 10
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 3),
    )
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0x15C7) + LOCATION)
    make = _box(b"\xa9mak", struct.pack(">HH", 10, 0x15C7) + b"ExampleCam")
    udta = _box(b"udta", xyz + make)
    data = _box(b"data", struct.pack(">II", 1, 0) + SERIAL.encode())
    meta = _full(
        b"meta",
        _full(b"hdlr", b"\x00" * 4 + b"mdir" + b"appl" + b"\x00" * 8 + b"\x00")
        + _box(b"ilst", _box(b"\xa9too", data)),
    )
    tracks = _trak(1, b"vide", created)
    if extra_track is not None:
        tracks += _trak(2, extra_track, created)
    moov = _box(b"moov", mvhd + tracks + udta + meta)
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isommp41")
    mdat = _box(b"mdat", b"\x00\x00\x00\x10" + b"\x65" * 64)
    return ftyp + moov + mdat


@functools.lru_cache(maxsize=4)
def png_bomb(width: int = 7000, height: int = 7000, colour_type: int = 2) -> bytes:
    """A valid single-colour PNG of `width` x `height` that decodes to far more than its size.

    Built row by row with zlib, so making it needs no full-size image in memory (7000 x 7000
    RGB: about 150 KB of file for 147 MB of pixels). `colour_type` 2 is RGB, 0 is grey.
    """
    channels = {0: 1, 2: 3}[colour_type]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    row = b"\x00" + b"\x7f" * (width * channels)  # filter byte "none", then one grey level
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
