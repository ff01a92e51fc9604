"""The ``kms`` seal: the root key R is encrypted under a key of another KMS that speaks
the AWS KMS API -- a second Cofre, or AWS KMS itself -- as Vault's awskms seal does. The
node decrypts it once, when it starts; credentials come from the usual AWS sources
(environment variables, shared files, an instance role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cofre.errors import SealError

_CONTEXT = {"cofre-seal": "root-key"}  # bound to the ciphertext: it opens nothing else


@dataclass(frozen=True)
class KmsSettings:
    key_id: str
    endpoint_url: str | None = None
    region: str | None = None

    def region_name(self) -> str | None:
        if self.region:
            return self.region
        parts = self.key_id.split(":")
        return parts[3] if self.key_id.startswith("arn:") and len(parts) > 4 else None


def _client(settings: KmsSettings) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10
    )
    return session.create_client(
        "kms", endpoint_url=settings.endpoint_url, region_name=settings.region_name(),
        config=config,
    )  # fmt: skip


def protect(settings: KmsSettings, root: bytes) -> bytes:
    try:
        answer = _client(settings).encrypt(
            KeyId=settings.key_id, Plaintext=root, EncryptionContext=_CONTEXT
        )
    except Exception as exc:
        raise SealError(f"the KMS refused to encrypt the root key: {_reason(exc)}") from exc
    return bytes(answer["CiphertextBlob"])


def open_root(settings: KmsSettings, sealed: bytes) -> bytes:
    try:
        answer = _client(settings).decrypt(
            CiphertextBlob=sealed, KeyId=settings.key_id, EncryptionContext=_CONTEXT
        )
    except Exception as exc:
        raise SealError(f"the KMS refused to decrypt the root key: {_reason(exc)}") from exc
    root = bytes(answer["Plaintext"])
    if len(root) != 32:
        raise SealError("the KMS returned something that is not a root key")
    return root


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")
    return f"{type(exc).__name__}: {exc}"
