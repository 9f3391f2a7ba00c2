"""Embedding and reading C2PA manifests with c2pa-python (the CAI's c2pa-rs underneath).

Only this module imports `c2pa`, and only inside functions: loading its native library costs
time that `consent-service verify` and the server's start-up should not pay.

- `sign_file` embeds a manifest definition (manifest.py) into a JPEG, PNG, WAV or MP4 file, or
  any other format c2pa-rs signs, and writes the signed copy next to its destination first, so
  a failure leaves no half-written output.
- `read_manifest_store` reads and validates the manifest store of a file: claim signature,
  certificate profile, hard binding of the manifest to the content (data hash or BMFF hash),
  and, when trust anchors are given, the chain of the signing certificate to one of them.
  Remote manifests and OCSP are never fetched: reading a file makes no network call.
"""

from __future__ import annotations

import json
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import Any

# The formats this service documents and tests, recognised from their first bytes.
JPEG, PNG, WAV, MP4 = "image/jpeg", "image/png", "audio/wav", "video/mp4"
_HEAD_BYTES = 16
# Major brands of MP4 files (ISO/IEC 14496-12 and -14); other ISO BMFF files (MOV, HEIC,
# AVIF, …) are typed by their name.
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
)


class MediaError(Exception):
    """A file cannot be signed or read; `code` names the problem (docs/provenance.md)."""

    code = "media_error"


class UnsupportedFormat(MediaError):
    code = "unsupported_format"


class ManifestMissing(MediaError):
    code = "no_manifest"


class ManifestUnreadable(MediaError):
    code = "manifest_unreadable"


def sniff_format(head: bytes) -> str | None:
    """The media type of the tested formats from a file's first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return MP4
    return None


def _format_of(path: Path) -> str:
    """The media type c2pa signs `path` as: from its bytes, else from its name."""
    with open(path, "rb") as fh:
        found = sniff_format(fh.read(_HEAD_BYTES))
    if found is not None:
        return found
    import c2pa

    guessed, _encoding = mimetypes.guess_type(path.name)
    if guessed is None or guessed not in c2pa.Builder.get_supported_mime_types():
        raise UnsupportedFormat(f"{path.name}: not a file type C2PA manifests can be embedded in")
    return guessed


def sign_file(
    source: Path,
    destination: Path,
    *,
    manifest: dict[str, Any],
    cert_chain_pem: bytes,
    private_key_pem: bytes,
    tsa_url: str | None = None,
) -> str:
    """Embed `manifest`, signed ES256 with the key and chain given; returns the media type.

    Raises `UnsupportedFormat` when c2pa-rs cannot embed a manifest in this file, `MediaError`
    when signing fails otherwise (a bad key or certificate, a damaged file).
    """
    import c2pa

    media_type = _format_of(source)
    settings = {
        # No thumbnail: the manifest should carry the licence, not a copy of the picture.
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"verify_after_sign": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert_chain_pem, private_key_pem, tsa_url)
    fd, partial = tempfile.mkstemp(dir=destination.parent, prefix=".c2pa-", suffix=".part")
    try:
        with (
            os.fdopen(fd, "w+b") as dst,
            open(source, "rb") as src,
            c2pa.Context.from_dict(settings) as context,
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(manifest, context) as builder,
        ):
            builder.sign(signer, media_type, src, dst)
        os.replace(partial, destination)
    except c2pa.C2paError.NotSupported as exc:
        raise UnsupportedFormat(f"{source.name}: C2PA cannot sign this {media_type} file") from exc
    except c2pa.C2paError as exc:
        raise MediaError(f"signing failed: {exc}") from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return media_type


def read_manifest_store(path: Path, *, trust_anchors_pem: str | None) -> dict[str, Any]:
    """The validated manifest store of `path` as c2pa-rs reports it (its JSON, parsed).

    `validation_state` is `Trusted` (the signature, the content binding and the chain to a
    trust anchor hold), `Valid` (signature and binding hold; no anchor given or none matched)
    or `Invalid`; `validation_results` names each check. Raises `UnsupportedFormat`,
    `ManifestMissing` (the file carries no manifest) or `ManifestUnreadable`.
    """
    import c2pa

    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True}
    }
    if trust_anchors_pem:
        # Replaces c2pa-rs's own anchors: only the anchors the operator chose are trusted.
        settings["trust"] = {"trust_anchors": trust_anchors_pem}
    try:
        with (
            c2pa.Context.from_dict(settings) as context,
            open(path, "rb") as stream,
            c2pa.Reader(stream, context=context) as reader,
        ):
            store: dict[str, Any] = json.loads(reader.json())
    except c2pa.C2paError.NotSupported as exc:
        raise UnsupportedFormat("not a file type C2PA manifests can be embedded in") from exc
    except c2pa.C2paError.ManifestNotFound as exc:
        raise ManifestMissing("the file carries no C2PA manifest") from exc
    except c2pa.C2paError as exc:
        raise ManifestUnreadable(f"the C2PA manifest cannot be read: {exc}") from exc
    return store
