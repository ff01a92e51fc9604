"""The keeper of one node's seal: it opens the root of trust -- by itself for the ``file``,
``pkcs11`` and ``kms`` seals, from a quorum of operators' shares for ``shamir`` -- loads the
keyring key into memory, seals the node again on demand (dropping every key it holds),
and rotates the root key online.

One keeper per node: in ``cofre serve --workers N`` the supervisor keeps the seal and hands
the keyring key to its workers over pipes; a lone worker keeps its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cofre.core.crypto import KEY_LEN, Cipher, Random, unwrap, wrap
from cofre.core.seal import (
    KEYRING_AAD,
    SealRecord,
    decode_record,
    decode_share,
    encode_record,
    sealed_root_aad,
)
from cofre.errors import InvalidCiphertextError, SealError, StorageError
from cofre.service.ports import Storage
from cofre.service.rootkey import check_root_key, stored_check
from cofre.service.seal import kms, pkcs11, shamir
from cofre.service.seal.files import FileRoot
from cofre.service.seal.keyring import Keyring

log = logging.getLogger(__name__)

SEAL_META = "seal"


@dataclass(frozen=True)
class SealStatus:
    seal_type: str
    sealed: bool
    threshold: int = 0
    shares: int = 0
    progress: int = 0
    error: str = ""  # why the seal did not open by itself, if it did not

    def document(self) -> dict[str, object]:
        out: dict[str, object] = {
            "type": self.seal_type, "sealed": self.sealed, "threshold": self.threshold,
            "shares": self.shares, "progress": self.progress,
        }  # fmt: skip
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def from_document(cls, document: dict[str, object]) -> SealStatus:
        def number(name: str) -> int:
            value = document.get(name, 0)
            return value if isinstance(value, int) else 0

        return cls(str(document.get("type", "")), bool(document.get("sealed", True)),
                   number("threshold"), number("shares"), number("progress"),
                   str(document.get("error", "")))  # fmt: skip


class SealControl(Protocol):
    """What the API asks of a node's seal: the keeper itself, or (a worker of a
    supervisor) a link to the supervisor's keeper."""

    def status(self) -> SealStatus: ...
    def submit_share(self, text: str) -> SealStatus: ...
    def seal(self) -> SealStatus: ...
    def rotate_root(self) -> SealStatus: ...


@dataclass(frozen=True)
class SealAccess:
    """How this node reaches its seal (from flags and the environment; the store's record
    says which seal it is and holds the rest)."""

    file: FileRoot
    pkcs11_library: str | None = None
    pkcs11_pin_file: Path | None = None
    kms_endpoint_url: str | None = None


def read_record(storage: Storage) -> SealRecord | None:
    with storage.read() as tx:
        text = tx.get_meta(SEAL_META)
    return None if text is None else decode_record(text)


def write_record(storage: Storage, record: SealRecord, *, replacing: SealRecord | None) -> None:
    """Store ``record`` if the store's record is still ``replacing`` (None: the store has
    none yet); ``SealError`` if another process changed it meanwhile (a rotate and a rekey
    at once): the one that loses changes nothing, so no unseal key printed ever goes stale."""
    with storage.write() as tx:
        current = tx.lock_meta(SEAL_META)
        if (current is None) != (replacing is None) or (
            current is not None and decode_record(current) != replacing
        ):
            raise SealError(
                "the store's seal changed meanwhile (another initialisation, rotate-root or"
                " rekey): nothing was changed; try again"
            )
        tx.set_meta(SEAL_META, encode_record(record))


def pkcs11_settings(record: SealRecord, access: SealAccess) -> pkcs11.Pkcs11Settings:
    library = access.pkcs11_library or record.params.get("library", "")
    if not library or access.pkcs11_pin_file is None:
        raise SealError(
            "the pkcs11 seal needs --pkcs11-library and --pkcs11-pin-file"
            " (or COFRE_PKCS11_LIBRARY and COFRE_PKCS11_PIN_FILE)"
        )
    return pkcs11.Pkcs11Settings.from_pin_file(
        library, record.params["token_label"], access.pkcs11_pin_file, record.params["key_label"]
    )


def kms_settings(record: SealRecord, access: SealAccess) -> kms.KmsSettings:
    endpoint = access.kms_endpoint_url or record.params.get("endpoint_url") or None
    return kms.KmsSettings(record.params["key_id"], endpoint, record.params.get("region") or None)


def open_root(record: SealRecord, access: SealAccess, *, repair: bool = True) -> bytes:
    """R, for the seals that open by themselves (``SealError`` for ``shamir``). On the file
    seal, a key a rotation staged is R if the record committed under it and the rename did
    not happen (``repair``: it is promoted then)."""
    if record.seal_type == "file":
        root = access.file.read()
        staged = access.file.staged()
        if not staged or _opens(record, root):
            return root
        for path, key in staged.items():
            if _opens(record, key):
                if repair:
                    access.file.promote(path)
                    log.warning("the root key a rotation staged is promoted: its record committed")
                return key
        return root
    if record.seal_type == "pkcs11":
        return pkcs11.open_root(pkcs11_settings(record, access), record.sealed_root)
    if record.seal_type == "kms":
        return kms.open_root(kms_settings(record, access), record.sealed_root)
    raise SealError("the shamir seal opens only with its operators' unseal keys")


def _opens(record: SealRecord, root: bytes) -> bool:
    try:
        open_keyring(record, root)
    except SealError:
        return False
    return True


def open_keyring(record: SealRecord, root: bytes) -> bytes:
    """K, from the record and R; ``SealError`` if R does not open it."""
    try:
        return unwrap(Cipher(root), record.keyring, KEYRING_AAD)
    except InvalidCiphertextError as exc:
        raise SealError(
            "the root key does not open this store's keyring: it is not this store's root key"
        ) from exc


class SealKeeper:
    def __init__(
        self,
        storage: Storage,
        keyring: Keyring,
        access: SealAccess,
        random: Random,
        *,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        """``on_change(sealed)``: told after every unseal and seal (the supervisor tells
        its workers)."""
        self._storage = storage
        self._keyring = keyring
        self._access = access
        self._random = random
        self._on_change = on_change
        self._lock = threading.Lock()
        self._progress = shamir.Progress()
        self._unseal_key: bytes | None = None  # U, while unsealed (shamir: to rotate R)
        self._record: SealRecord | None = None
        self._error = ""

    def record(self) -> SealRecord:
        if self._record is None:
            record = read_record(self._storage)
            if record is None:
                raise SealError("the store has no seal: it was never initialised")
            self._record = record
        return self._record

    def status(self) -> SealStatus:
        record = self.record()
        if self._keyring.sealed and record.seal_type == "shamir":
            record = self._fresh_or(record)  # new keys may have been issued (rekey)
        threshold = shares = 0
        if record.shamir is not None:
            threshold, shares = record.shamir.threshold, record.shamir.shares
        return SealStatus(record.seal_type, self._keyring.sealed, threshold, shares,
                          self._progress.given(record), self._error)  # fmt: skip

    def open(self) -> SealStatus:
        """At start: unseal by itself where the seal can; a shamir store stays sealed, and
        so does one whose HSM or KMS will not open it (a wrong PIN, a disabled key): the
        error is logged and kept in the status, and the node answers as sealed. A file
        seal that does not open (another root key) is refused: ``SealError``."""
        record = self.record()
        if record.seal_type != "shamir":
            try:
                with self._lock:
                    self._load(record, open_root(record, self._access))
            except SealError as error:
                if record.seal_type == "file":  # a wrong or missing file: a configuration
                    raise  # error, refused at start as before seals existed
                self._error = error.message
                log.error("the %s seal did not open: %s", record.seal_type, error.message)
        return self.status()

    def submit_share(self, text: str) -> SealStatus:
        """One operator's unseal key; unseals the node once there are enough."""
        with self._lock:
            record = self.record()
            if record.seal_type != "shamir" or record.shamir is None:
                raise SealError(f"this store's {record.seal_type} seal takes no unseal keys")
            if not self._keyring.sealed:
                return self.status()
            record = self.read_fresh()  # the keys may have been reissued since the start
            assert record.shamir is not None
            share = decode_share(text)
            chosen = self._progress.add(record, share)
            if chosen is not None:
                unseal_key = shamir.combine(chosen)
                root = shamir.open_root(record, unseal_key)
                self._load(record, root)
                self._unseal_key = unseal_key
        return self.status()

    def seal(self) -> SealStatus:
        """Seal this node now: drop the keyring key and every key derived or unwrapped."""
        with self._lock:
            self._unseal_key = None
            self._progress.reset()
            self._keyring.drop()
        log.warning("sealed: the keyring key is dropped")
        if self._on_change is not None:
            self._on_change(True)
        return self.status()

    def rotate_root(self) -> SealStatus:
        """:meth:`rotate` for the API."""
        self.rotate()
        return self.status()

    def rotate(self) -> SealRecord:
        """New root key material: the keyring is rewrapped under it and the seal protects
        it; the keyring key (and everything under it) is unchanged, so every node and every
        ciphertext goes on as before."""
        with self._lock:
            record = self.read_fresh()
            key = self._keyring.key()
            root = self._random(KEY_LEN)
            keyring = wrap(Cipher(root), key, KEYRING_AAD, self._random)
            staged = None
            if record.seal_type == "file":
                staged = self._access.file.stage(root, self._random)
                sealed_root = b""
            elif record.seal_type == "shamir":
                assert record.shamir is not None and self._unseal_key is not None
                try:
                    shamir.open_root(record, self._unseal_key)
                except SealError as exc:
                    raise SealError(
                        "the unseal keys were reissued (rekey) after this node unsealed: seal"
                        " it and unseal it with the new keys, then rotate the root key"
                    ) from exc
                aad = sealed_root_aad("shamir", record.shamir.set_id)
                sealed_root = wrap(Cipher(self._unseal_key), root, aad, self._random)
            elif record.seal_type == "pkcs11":
                sealed_root = pkcs11.protect(pkcs11_settings(record, self._access), root)
            else:
                sealed_root = kms.protect(kms_settings(record, self._access), root)
            rotated = record.with_root(keyring, sealed_root)
            try:
                write_record(self._storage, rotated, replacing=record)
            except SealError:  # another writer won: nothing was committed
                if staged is not None:
                    self._access.file.discard(staged)
                raise
            # any other failure may have committed (a lost answer to COMMIT): the staged
            # key stays, and the next open promotes it if the record is under it
            if staged is not None:
                self._access.file.promote(staged)
            self._record = rotated
        log.warning("the root key was rotated; the keyring is rewrapped under the new one")
        return rotated

    def _fresh_or(self, record: SealRecord) -> SealRecord:
        try:
            return self.read_fresh()
        except StorageError:
            self._record = record
            return record

    def read_fresh(self) -> SealRecord:
        """The record as the database holds it now (another node may have rotated)."""
        self._record = None
        return self.record()

    def _load(self, record: SealRecord, root: bytes) -> None:
        key = open_keyring(record, root)
        stored = stored_check(self._storage)
        if stored is not None:
            check_root_key(stored, Cipher(key))
        self._keyring.load(key)
        self._error = ""
        log.warning("unsealed (%s seal)", record.seal_type)
        if self._on_change is not None:
            self._on_change(False)
