"""Where encrypted reference objects live: a local directory or any S3 API, behind one protocol.

Both backends store only what `crypto/stream.py` produced (ciphertext); neither ever sees a key.
Object names are `<holder_id>/<reference_id>`: pseudonymous ids, so that erasure can sweep a
holder's objects by prefix and a bucket listing reveals nothing about anyone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from consent_service.files import DIR_MODE, FILE_MODE, fsync_directory, private_directory

READ_CHUNK = 1024 * 1024
# S3 multipart parts must be at least 5 MiB except the last; 8 MiB keeps memory small.
S3_PART_SIZE = 8 * 1024 * 1024
_NAME = re.compile(r"^[a-z0-9_]{1,40}(/[a-z0-9_]{1,40})*/?$")


class StorageError(Exception):
    """The backend failed (unreachable, permission, full disk)."""


class ObjectMissing(StorageError):
    """No object under that name."""


class Reader(Protocol):
    """What `Storage.open` returns: a file, or an S3 streaming body."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Storage(Protocol):
    """The small interface both backends implement."""

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        """Store the pieces under `name`, replacing any object there; return bytes written."""
        ...

    def open(self, name: str) -> Reader:
        """A reader of the object's bytes; raises `ObjectMissing` if absent. Close it."""
        ...

    def get(self, name: str) -> Iterator[bytes]:
        """The object's bytes in pieces; raises `ObjectMissing` before yielding if absent."""
        ...

    def delete(self, name: str) -> None:
        """Remove the object; no error if it is already gone."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose name starts with `prefix`; return how many."""
        ...

    def names(self, prefix: str = "") -> list[str]:
        """Names of stored objects under `prefix` (tests and sweeps)."""
        ...

    def modified_at(self, name: str) -> datetime | None:
        """When the object was last written; None if it does not exist."""
        ...

    def check(self) -> str | None:
        """Readiness: None when usable, else a short reason."""
        ...


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad object name {name!r}")
    return name


class LocalStorage:
    """Files under `<data_dir>/vault/`, written to a temporary name and renamed into place.

    Directories are 0700 and objects 0600 (files.py). An object is durable when `put` returns:
    its bytes are fsynced before the rename, and the directory after it (and the directories
    it had to create, so that their entries survive too); a removal fsyncs its directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / _check_name(name)

    def _make_parents(self, path: Path) -> None:
        """Create the directories from the root down to `path`'s parent, each 0700, durably."""
        private_directory(self.root)
        directory = self.root
        for part in path.parent.relative_to(self.root).parts:
            directory = directory / part
            try:
                directory.mkdir(mode=DIR_MODE)
            except FileExistsError:
                continue
            fsync_directory(directory.parent)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self._path(name)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        written = 0
        try:
            self._make_parents(path)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            # The rename is in the directory: without this a power cut can undo it.
            fsync_directory(path.parent)
        except OSError as exc:
            raise StorageError(f"local vault write failed: {exc.strerror}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return written

    def open(self, name: str) -> Reader:
        try:
            return open(self._path(name), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(name) from exc
        except OSError as exc:
            raise StorageError(f"local vault read failed: {exc.strerror}") from exc

    def get(self, name: str) -> Iterator[bytes]:
        return _read_file(self.open(name))

    def delete(self, name: str) -> None:
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"local vault delete failed: {exc.strerror}") from exc
        with contextlib.suppress(OSError):  # the object is gone either way
            fsync_directory(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        names = self.names(prefix)
        for name in names:
            self.delete(name)
        return len(names)

    def names(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                name = path.relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    found.append(name)
        return sorted(found)

    def modified_at(self, name: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(name).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def check(self) -> str | None:
        try:
            private_directory(self.root)
            probe = self.root / f".readyz-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            return f"vault directory not writable: {exc.strerror}"
        return None


def _read_file(reader: Reader) -> Iterator[bytes]:
    try:
        while chunk := reader.read(READ_CHUNK):
            yield chunk
    finally:
        reader.close()


class S3Storage:
    """Objects in one S3 bucket (AWS S3, MinIO, moto) under a key prefix, through boto3."""

    def __init__(self, client: Any, bucket: str, prefix: str = "vault/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Any) -> S3Storage:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    def _key(self, name: str) -> str:
        return self.prefix + _check_name(name)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(name)
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                buffer += chunk
                written += len(chunk)
                if len(buffer) >= S3_PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key
                        )["UploadId"]
                    parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            if upload_id is None:
                # Small object: one PUT.
                self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
            else:
                if buffer:
                    parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except (ClientError, BotoCoreError) as exc:
            if upload_id is not None:
                with contextlib.suppress(ClientError, BotoCoreError):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            raise StorageError(f"S3 write failed: {_code(exc)}") from exc
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(ClientError, BotoCoreError):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            raise
        return written

    def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def open(self, name: str) -> Reader:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404", "NotFound"}:
                raise ObjectMissing(name) from exc
            raise StorageError(f"S3 read failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 read failed: {_code(exc)}") from exc
        body: Reader = answer["Body"]
        return body

    def get(self, name: str) -> Iterator[bytes]:
        return _read_file(self.open(name))

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 delete failed: {_code(exc)}") from exc

    def delete_prefix(self, prefix: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        names = self.names(prefix)
        try:
            for start in range(0, len(names), 1000):
                batch = names[start : start + 1000]
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self._key(n)} for n in batch], "Quiet": True},
                )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 delete failed: {_code(exc)}") from exc
        return len(names)

    def names(self, prefix: str = "") -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    found.append(item["Key"][len(self.prefix) :])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 list failed: {_code(exc)}") from exc
        return sorted(found)

    def modified_at(self, name: str) -> datetime | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise StorageError(f"S3 head failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 head failed: {_code(exc)}") from exc
        modified: datetime = answer["LastModified"]
        return modified

    def raw_keys(self) -> list[str]:
        """Every key in the bucket, prefix included (tests assert what the bucket holds)."""
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def check(self) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = _code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                return f"bucket {self.bucket!r} does not exist"
            return f"bucket not usable: {code}"
        except BotoCoreError as exc:
            return f"S3 unreachable: {_code(exc)}"
        return None


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def storage_from_settings(settings: Any) -> Storage:
    if settings.vault_backend == "s3":
        if not settings.s3_bucket:
            raise ValueError("CONSENT_S3_BUCKET is required with CONSENT_VAULT_BACKEND=s3")
        return S3Storage.from_settings(settings)
    return LocalStorage(Path(settings.data_dir) / "vault")
