"""The master key held in AWS KMS: every wrap and unwrap is a KMS Encrypt/Decrypt call.

The key never leaves KMS. Each call carries an EncryptionContext naming what the wrapped key
belongs to (`{"consent-service": "data:hld_…"}`); KMS binds the ciphertext to it, as the local
master key binds its AAD, so a wrapped key copied onto another owner does not unwrap. KMS
Encrypt takes at most 4 KiB of plaintext, far more than a 32-byte key or a signing-key PEM.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from consent_service.crypto.envelope import DecryptionError, MasterKeyError

CONTEXT_KEY = "consent-service"
# KMS answers these when the ciphertext, key or context does not match: a decryption failure.
_NOT_AUTHENTIC = frozenset(
    {"InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyUsageException"}
)


class KmsMasterKey:
    """`MasterKey` backed by a symmetric AWS KMS key (`CONSENT_KMS_KEY_ID`)."""

    def __init__(self, key_id: str, client: Any) -> None:
        if not key_id:
            raise MasterKeyError("CONSENT_KMS_KEY_ID is empty")
        self.key_id = key_id
        self._client = client

    @classmethod
    def from_settings(cls, settings: Any) -> KmsMasterKey:
        """A client for the configured key; region and credentials from the usual AWS sources."""
        import boto3

        client = boto3.client("kms", endpoint_url=settings.kms_endpoint_url)
        return cls(settings.kms_key_id, client)

    def wrap(self, key: bytes, *, context: str) -> bytes:
        """Encrypt `key` under the KMS key, bound to `context`."""
        try:
            answer = self._client.encrypt(
                KeyId=self.key_id, Plaintext=key, EncryptionContext={CONTEXT_KEY: context}
            )
        except (ClientError, BotoCoreError) as exc:
            raise MasterKeyError(f"KMS Encrypt failed: {_error_code(exc)}") from exc
        blob: bytes = answer["CiphertextBlob"]
        return blob

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        """Decrypt a key wrapped with the same `context`; `DecryptionError` if it does not match."""
        try:
            answer = self._client.decrypt(
                KeyId=self.key_id,
                CiphertextBlob=wrapped,
                EncryptionContext={CONTEXT_KEY: context},
            )
        except ClientError as exc:
            # 1. A ciphertext, key or context mismatch is an authentication failure.
            if _error_code(exc) in _NOT_AUTHENTIC:
                raise DecryptionError("KMS refused to decrypt the wrapped key") from exc
            # 2. Anything else (access denied, throttling, key disabled) is an operational fault.
            raise MasterKeyError(f"KMS Decrypt failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise MasterKeyError(f"KMS Decrypt failed: {_error_code(exc)}") from exc
        plaintext: bytes = answer["Plaintext"]
        return plaintext

    def check(self) -> str | None:
        """Readiness: None when the key is usable, else a short reason."""
        try:
            meta = self._client.describe_key(KeyId=self.key_id)["KeyMetadata"]
        except (ClientError, BotoCoreError) as exc:
            return f"kms unreachable: {_error_code(exc)}"
        if not meta.get("Enabled", False):
            return "kms key disabled"
        return None


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
