"""Receive a multipart upload chunk by chunk into a private temporary file.

The body is read with `request.stream()` and fed to python-multipart's streaming parser; the
`file` part goes straight to disk, so memory use does not grow with the file. Its first bytes
decide the media family and with it the size limit (CONSENT_VAULT_MAX_*_BYTES), so an
oversized or unsupported upload is refused while it is still arriving. The temporary file lives
in `<data_dir>/tmp/uploads` (mode 0700), holds the file only until it is cleaned and encrypted,
and is removed in every case (see `ReceivedUpload.discard`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from consent_service.errors import DomainError, MalformedBody, PayloadTooLarge, ValidationFailed
from consent_service.vault.sanitize import SNIFF_BYTES, UnsupportedMedia, sniff_family

# Text fields of a reference upload, with their maximum length in bytes. Other upload routes
# (verification evidence) pass their own text fields; `file` is always the one file part.
REFERENCE_FIELDS = {"attribute": 32}


def openapi_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of an upload route: the `file` part and `fields`, all required."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}, **fields}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(properties),
                        "properties": properties,
                    }
                }
            },
        }
    }


class NotMultipart(DomainError):
    code, status, title = "unsupported_media_type", 415, "Send multipart/form-data"


class ReferenceTooLarge(PayloadTooLarge):
    code, title = "reference_too_large", "The file is larger than allowed for its type"


@dataclass
class ReceivedUpload:
    path: Path
    size: int = 0
    family: str | None = None
    attribute: str | None = None
    # Every text field received, stripped (the reference upload's `attribute` is one of them).
    fields: dict[str, str] = field(default_factory=dict)
    _fh: Any = field(default=None, repr=False)

    def discard(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class _Receiver:
    """python-multipart callbacks: headers of each part, `file` to disk, text fields in memory."""

    def __init__(
        self, upload: ReceivedUpload, limits: dict[str, int], text_fields: dict[str, int]
    ) -> None:
        self.upload = upload
        self.limits = limits
        self.text_fields = text_fields
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part: str | None = None
        self.seen: set[str] = set()
        self.head = b""
        self.text: dict[str, bytearray] = {}

    # header parsing ---------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.headers = {}
        self.part = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.strip().lower()] = self.header_value.strip()
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != "file" and name not in self.text_fields:
            expected = ", ".join(repr(f) for f in ("file", *self.text_fields))
            raise ValidationFailed(f"Unknown form field {name!r}: send {expected}")
        if name in self.seen:
            raise ValidationFailed(f"Form field {name!r} given twice")
        self.seen.add(name)
        self.part = name

    # part bodies ------------------------------------------------------------------------
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self.part == "file":
            self._file_data(piece)
        elif self.part is not None:
            value = self.text.setdefault(self.part, bytearray())
            value += piece
            if len(value) > self.text_fields[self.part]:
                raise ValidationFailed(f"Form field {self.part!r} is too long")

    def _file_data(self, piece: bytes) -> None:
        upload = self.upload
        if upload.family is None and len(self.head) < SNIFF_BYTES:
            self.head += piece[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._decide_family()
        upload.size += len(piece)
        if upload.family is not None and upload.size > self.limits[upload.family]:
            raise ReferenceTooLarge(
                f"{upload.family} files may be at most {self.limits[upload.family]} bytes"
            )
        upload._fh.write(piece)

    def _decide_family(self) -> None:
        family = sniff_family(self.head)
        if family is None:
            raise UnsupportedMedia()
        self.upload.family = family

    def on_part_end(self) -> None:
        if self.part == "file" and self.upload.family is None:
            self._decide_family()  # a file shorter than SNIFF_BYTES
        self.part = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }


async def receive_upload(
    request: Request,
    *,
    tmp_dir: Path,
    limits: dict[str, int],
    text_fields: dict[str, int] | None = None,
) -> ReceivedUpload:
    """Stream the multipart body into a temporary file; the caller must `discard()` it.

    `text_fields` names the form fields expected besides `file`, each with its maximum length
    (default: a reference upload's `attribute`); all of them are required.
    """
    text_fields = REFERENCE_FIELDS if text_fields is None else text_fields
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        expected = " and ".join(repr(f) for f in ("file", *text_fields))
        raise NotMultipart(f"Send the file as multipart/form-data with {expected}")
    tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
    upload = ReceivedUpload(path=Path(name), _fh=os.fdopen(fd, "wb"))
    receiver = _Receiver(upload, limits, text_fields)
    try:
        parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
        upload._fh.close()
        upload._fh = None
        if "file" not in receiver.seen:
            raise ValidationFailed("Missing form field 'file'")
        for name in text_fields:
            if name not in receiver.seen:
                raise ValidationFailed(f"Missing form field {name!r}")
        upload.fields = {
            name: value.decode("utf-8", "replace").strip() for name, value in receiver.text.items()
        }
        upload.fields.update({name: "" for name in text_fields if name not in upload.fields})
        upload.attribute = upload.fields.get("attribute")
        return upload
    except MultipartParseError as exc:
        upload.discard()
        raise MalformedBody("The multipart body could not be parsed") from exc
    except BaseException:
        upload.discard()
        raise
