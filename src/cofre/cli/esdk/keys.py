"""Wrapping-key specifications of ``cofre encrypt`` / ``cofre decrypt`` -> esdk keyrings.

One ``--wrapping-keys`` (``-w``) is a list of ``attribute=value`` words, as in the official
aws-encryption-cli:

* ``key=<ARN, key id or alias> [key=...] [region=...] [profile=...]`` (provider ``aws-kms``,
  the default); on decrypt ``discovery=true [discovery-partition=aws
  discovery-account=111122223333 ...]`` instead of keys;
* ``provider=raw-aes key-file=<file> key-namespace=<ns> key-name=<name>``: the file holds
  the 16, 24 or 32 key bytes, raw or base64;
* ``provider=raw-rsa key-file=<PEM> key-namespace=<ns> key-name=<name> [padding=OAEP-SHA256]``:
  a public (or private) key encrypts, a private key decrypts.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre import esdk

SEPARATOR = "\0"  # joins the words of one greedy option; argv can never contain it
DISCOVERY_WORDS = ("discovery", "discovery-account", "discovery-partition")
_KNOWN = {
    "aws-kms": {"provider", "key", "region", "profile", *DISCOVERY_WORDS},
    "raw-aes": {"provider", "key-file", "key-namespace", "key-name"},
    "raw-rsa": {"provider", "key-file", "key-namespace", "key-name", "padding"},
}


class KeySpecError(Exception):
    """A wrapping-key specification is invalid (a usage error)."""


def parse_words(value: str, what: str) -> dict[str, list[str]]:
    """``a=1 b=2 a=3`` -> {"a": ["1", "3"], "b": ["2"]}; every word needs ``=`` and a value."""
    words: dict[str, list[str]] = defaultdict(list)
    for word in value.split(SEPARATOR):
        name, eq, val = word.partition("=")
        if not (name and eq and val):
            raise KeySpecError(f"{what}: {word!r} is not of the form attribute=value")
        words[name].append(val)
    return dict(words)


def _one(words: dict[str, list[str]], name: str, default: str | None = None) -> str:
    values = words.get(name)
    if not values:
        if default is None:
            raise KeySpecError(f"--wrapping-keys: {name}= is required")
        return default
    if len(values) > 1:
        raise KeySpecError(f"--wrapping-keys: give {name}= once")
    return values[0]


@dataclass
class KmsClients:
    """botocore KMS clients, one per (profile, region), created on first use."""

    endpoint_url: str | None
    _clients: dict[tuple[str | None, str | None], Any] = field(default_factory=dict)

    def get(self, profile: str | None, region: str | None) -> Any:
        if (profile, region) not in self._clients:
            import botocore.exceptions
            import botocore.session

            try:
                session = botocore.session.Session(profile=profile)
                client = session.create_client(
                    "kms", region_name=region, endpoint_url=self.endpoint_url
                )
            except botocore.exceptions.BotoCoreError as exc:
                raise KeySpecError(f"cannot create a KMS client: {exc}") from exc
            self._clients[(profile, region)] = client
        return self._clients[(profile, region)]


def _region_of(key: str, region: str | None) -> str | None:
    """A key ARN names its region (arn:aws:kms:<region>:...); otherwise ``region=``."""
    parts = key.split(":")
    if key.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return region


def _kms_keyrings(
    words: dict[str, list[str]], decrypt: bool, clients: KmsClients
) -> list[esdk.Keyring]:
    keys = words.get("key", [])
    region = words["region"][0] if "region" in words else None
    profile = words["profile"][0] if "profile" in words else None
    discovery = _one(words, "discovery", "false").lower() in ("true", "yes", "1")
    if not decrypt and any(w in words for w in DISCOVERY_WORDS):
        raise KeySpecError("--wrapping-keys: discovery attributes are for decrypt only")
    if discovery:
        if keys:
            raise KeySpecError("--wrapping-keys: discovery=true takes no key=")
        accounts = words.get("discovery-account", [])
        partition = words.get("discovery-partition", [])
        if bool(accounts) != bool(partition):
            raise KeySpecError("--wrapping-keys: give discovery-account= with discovery-partition=")
        flt = esdk.DiscoveryFilter(partition[0], accounts) if accounts else None
        return [esdk.KmsDiscoveryKeyring(clients.get(profile, region), flt)]
    if not keys:
        hint = " (or discovery=true)" if decrypt else ""
        raise KeySpecError(f"--wrapping-keys: key= is required{hint}")
    try:
        return [esdk.KmsKeyring(clients.get(profile, _region_of(key, region)), key) for key in keys]
    except esdk.ConfigurationError as exc:
        raise KeySpecError(f"--wrapping-keys: {exc}") from exc


def _read_key_file(words: dict[str, list[str]]) -> bytes:
    path = Path(_one(words, "key-file"))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeySpecError(f"--wrapping-keys: cannot read {path}: {exc.strerror}") from exc


def _raw_aes(words: dict[str, list[str]]) -> esdk.Keyring:
    data = _read_key_file(words)
    if len(data) not in (16, 24, 32):
        try:
            data = base64.b64decode(data.strip(), validate=True)
        except (binascii.Error, ValueError):
            data = b""
    if len(data) not in (16, 24, 32):
        raise KeySpecError("--wrapping-keys: key-file must hold 16, 24 or 32 bytes (raw or base64)")
    return esdk.RawAesKeyring(_one(words, "key-namespace"), _one(words, "key-name"), data)


def _raw_rsa(words: dict[str, list[str]], decrypt: bool) -> esdk.Keyring:
    data = _read_key_file(words)
    padding_name = _one(words, "padding", esdk.RsaPadding.OAEP_SHA256_MGF1.value)
    try:
        padding = esdk.RsaPadding(padding_name)
    except ValueError as exc:
        names = ", ".join(p.value for p in esdk.RsaPadding)
        raise KeySpecError(f"--wrapping-keys: padding must be one of {names}") from exc
    namespace, name = _one(words, "key-namespace"), _one(words, "key-name")
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise KeySpecError("--wrapping-keys: key-file is not an RSA key")
        return esdk.RawRsaKeyring(namespace, name, padding, private_key=private)
    if decrypt:
        raise KeySpecError("--wrapping-keys: decrypting with raw-rsa needs a private key")
    public = serialization.load_pem_public_key(data)
    if not isinstance(public, rsa.RSAPublicKey):
        raise KeySpecError("--wrapping-keys: key-file is not an RSA key")
    return esdk.RawRsaKeyring(namespace, name, padding, public_key=public)


def build_keyring(specs: Sequence[str], *, decrypt: bool, clients: KmsClients) -> esdk.Keyring:
    """One keyring for every ``-w``: the first generates the data key, the others wrap it."""
    keyrings: list[esdk.Keyring] = []
    for spec in specs:
        words = parse_words(spec, "--wrapping-keys")
        provider = _one(words, "provider", "aws-kms")
        if provider not in _KNOWN:
            raise KeySpecError(f"--wrapping-keys: unknown provider {provider!r}")
        unknown = set(words) - _KNOWN[provider]
        if unknown:
            raise KeySpecError(f"--wrapping-keys: unknown attribute {sorted(unknown)[0]!r}")
        try:
            if provider == "aws-kms":
                keyrings += _kms_keyrings(words, decrypt, clients)
            elif provider == "raw-aes":
                keyrings.append(_raw_aes(words))
            else:
                keyrings.append(_raw_rsa(words, decrypt))
        except (ValueError, esdk.ConfigurationError) as exc:
            raise KeySpecError(f"--wrapping-keys: {exc}") from exc
    if len(keyrings) == 1:
        return keyrings[0]
    if decrypt:
        return esdk.MultiKeyring(children=keyrings)
    return esdk.MultiKeyring(generator=keyrings[0], children=keyrings[1:])


class RequireContextKeys:
    """A CMM that fails before any key is unwrapped unless the message's context (stored
    or reproduced) has every key of ``keys`` (``cofre decrypt -c key``)."""

    def __init__(self, underlying: esdk.CryptoMaterialsManager, keys: Sequence[str]) -> None:
        self.underlying = underlying
        self.keys = tuple(keys)

    def get_encryption_materials(
        self, request: esdk.EncryptionMaterialsRequest
    ) -> esdk.EncryptionMaterials:
        return self.underlying.get_encryption_materials(request)

    def decrypt_materials(self, request: esdk.DecryptMaterialsRequest) -> esdk.DecryptionMaterials:
        present = set(request.encryption_context) | set(request.reproduced_encryption_context or {})
        missing = [k for k in self.keys if k not in present]
        if missing:
            raise esdk.DecryptError(f"encryption context lacks required keys: {', '.join(missing)}")
        return self.underlying.decrypt_materials(request)
