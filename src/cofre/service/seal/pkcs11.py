"""The ``pkcs11`` seal: the root key R is encrypted by an AES-256 key inside an HSM
(PKCS#11, python-pkcs11; SoftHSM2 in tests). The HSM key is token-resident, sensitive and
not extractable: it never leaves the HSM, and R is decrypted once, when the node unseals;
no request touches the HSM.

The sealed root is ``0x01 | IV (12) | ciphertext (32) | tag (16)``, AES-GCM computed by
the HSM (``CKM_AES_GCM``). PKCS#11 modules such as SoftHSM2 are not safe to call from
several threads at once through python-pkcs11, so every call takes one lock; and several
processes logging in to one SoftHSM2 token race, so opening a session retries.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cofre.core.seal import sealed_root_aad
from cofre.errors import SealError

_VERSION = 1
_LENGTH = 1 + 12 + 32 + 16
_LOCK = threading.Lock()  # one for the whole process: see the module's docstring
_ATTEMPTS = 6


@dataclass(frozen=True)
class Pkcs11Settings:
    library: str
    token_label: str
    pin: str
    key_label: str

    @classmethod
    def from_pin_file(
        cls, library: str, token_label: str, pin_file: Path, key_label: str
    ) -> Pkcs11Settings:
        try:
            pin = pin_file.read_text().strip()
        except OSError as exc:
            raise SealError(f"cannot read the PKCS#11 PIN file {pin_file}: {exc.strerror}") from exc
        return cls(library, token_label, pin, key_label)


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError as exc:
        raise SealError("the pkcs11 seal needs python-pkcs11: pip install 'cofre[hsm]'") from exc
    return pkcs11


def _session(settings: Pkcs11Settings, *, rw: bool = False) -> Any:
    """A logged-in session (the caller holds ``_LOCK`` and closes it)."""
    pkcs11 = _pkcs11()
    from pkcs11 import exceptions as p11

    if not os.path.exists(settings.library):
        raise SealError(f"the PKCS#11 library {settings.library} does not exist")
    try:
        lib = pkcs11.lib(settings.library)
    except p11.PKCS11Error as exc:
        raise SealError(f"cannot load the PKCS#11 library {settings.library}: {exc!r}") from exc
    for attempt in range(_ATTEMPTS):
        try:
            token = lib.get_token(token_label=settings.token_label)
            return token.open(rw=rw, user_pin=settings.pin)
        except (p11.PinIncorrect, p11.PinLenRange) as exc:
            raise SealError(f"the PIN of token {settings.token_label!r} is wrong") from exc
        except p11.PinLocked as exc:
            raise SealError(f"the PIN of token {settings.token_label!r} is locked") from exc
        except p11.MultipleTokensReturned as exc:
            raise SealError(f"several tokens are labelled {settings.token_label!r}") from exc
        except (p11.NoSuchToken, p11.GeneralError, p11.TokenNotPresent) as exc:
            if attempt == _ATTEMPTS - 1:
                raise SealError(f"no PKCS#11 token labelled {settings.token_label!r}") from exc
            time.sleep(0.02 * (attempt + 1) + random.random() * 0.05)  # noqa: S311 - jitter
            lib.reinitialize()
    raise AssertionError("unreachable")


def _find_key(session: Any, label: str) -> Any:
    from pkcs11 import KeyType, ObjectClass
    from pkcs11 import exceptions as p11

    try:
        return session.get_key(
            label=label, key_type=KeyType.AES, object_class=ObjectClass.SECRET_KEY
        )
    except p11.NoSuchKey as exc:
        raise SealError(f"the token holds no AES key labelled {label!r}") from exc
    except p11.MultipleObjectsReturned as exc:
        raise SealError(f"the token holds several keys labelled {label!r}") from exc


def ensure_key(settings: Pkcs11Settings) -> bool:
    """Make the token-resident, non-extractable AES-256 key if the token has none under
    its label; whether it was made."""
    from pkcs11 import Attribute, KeyType, ObjectClass

    with _LOCK, _session(settings, rw=True) as session:
        found = list(session.get_objects({Attribute.LABEL: settings.key_label,
                                          Attribute.CLASS: ObjectClass.SECRET_KEY}))  # fmt: skip
        if len(found) > 1:
            raise SealError(f"the token holds several keys labelled {settings.key_label!r}")
        if found:
            return False
        session.generate_key(
            KeyType.AES,
            256,
            label=settings.key_label,
            store=True,  # on the token: it outlives the session
            template={
                Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False, Attribute.MODIFIABLE: False,
                Attribute.ENCRYPT: True, Attribute.DECRYPT: True, Attribute.WRAP: False,
                Attribute.UNWRAP: False, Attribute.SIGN: False, Attribute.VERIFY: False,
                Attribute.DERIVE: False,
            },
        )  # fmt: skip
        return True


def protect(settings: Pkcs11Settings, root: bytes) -> bytes:
    """R encrypted inside the HSM."""
    from pkcs11 import Mechanism
    from pkcs11.mechanisms import GCMParams

    iv = os.urandom(12)
    params = GCMParams(iv, sealed_root_aad("pkcs11"), 128)
    with _LOCK, _session(settings) as session:
        key = _find_key(session, settings.key_label)
        sealed = key.encrypt(root, mechanism=Mechanism.AES_GCM, mechanism_param=params)
    return bytes((_VERSION,)) + iv + bytes(sealed)


def open_root(settings: Pkcs11Settings, sealed: bytes) -> bytes:
    """R, decrypted inside the HSM; ``SealError`` naming what is wrong."""
    from pkcs11 import Mechanism
    from pkcs11 import exceptions as p11
    from pkcs11.mechanisms import GCMParams

    if len(sealed) != _LENGTH or sealed[0] != _VERSION:
        raise SealError("the store's sealed root key is damaged")
    iv, body = sealed[1:13], sealed[13:]
    params = GCMParams(iv, sealed_root_aad("pkcs11"), 128)
    with _LOCK, _session(settings) as session:
        key = _find_key(session, settings.key_label)
        try:
            root = key.decrypt(body, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        except (p11.GeneralError, p11.EncryptedDataInvalid) as exc:
            # SoftHSM2 reports a GCM tag mismatch as CKR_GENERAL_ERROR
            raise SealError(
                f"the HSM key {settings.key_label!r} does not open this store's root key"
            ) from exc
    if len(root) != 32:
        raise SealError("the store's sealed root key is damaged")
    return bytes(root)
