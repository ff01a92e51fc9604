"""Setting up a store's root of trust: a new store under any seal (``cofre operator
init``, or ``cofre serve`` on an empty store with the ``file`` seal), a store made before
the root of trust (adopted: its root key becomes the keyring key), moving a store from
the ``file`` seal to another (``cofre operator migrate-seal``), and new Shamir shares
(``cofre operator rekey``). Each writes the seal record in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from cofre.core.crypto import KEY_LEN, Cipher, Random, wrap
from cofre.core.seal import (
    KEYRING_AAD,
    SealRecord,
    decode_record,
    decode_share,
    encode_record,
    encode_share,
)
from cofre.errors import SealError
from cofre.service.audit.chain import AUDIT_MAC_SINCE_META
from cofre.service.ports import Storage
from cofre.service.rootkey import stored_check, verify_root_key
from cofre.service.seal import kms, pkcs11, shamir
from cofre.service.seal.keeper import (
    SEAL_META,
    SealAccess,
    open_keyring,
    read_record,
    write_record,
)


@dataclass(frozen=True)
class SealChoice:
    """The seal a new store (or a migration) takes, and its settings."""

    seal_type: str = "file"
    shares: int = 5
    threshold: int = 3
    pkcs11_token_label: str = ""
    pkcs11_key_label: str = "cofre-root-key"
    kms_key_id: str = ""
    kms_endpoint_url: str = ""
    kms_region: str = ""


@dataclass
class SetUp:
    """What setting up returns: the keyring key (to bootstrap with) and, for the shamir
    seal, the unseal keys -- printed once, stored nowhere."""

    keyring_key: bytes
    record: SealRecord
    unseal_keys: list[str] = field(default_factory=list)


def _protect(
    choice: SealChoice, root: bytes, access: SealAccess, random: Random
) -> tuple[bytes, SealRecord | None, list[str], dict[str, str]]:
    """The sealed root for ``choice``: (sealed root, shamir set as a record, shares, params)."""
    if choice.seal_type == "shamir":
        share_set, sealed, issued = shamir.split(root, choice.shares, choice.threshold, random)
        template = SealRecord("shamir", b"", sealed, share_set)
        return sealed, template, [encode_share(s) for s in issued], {}
    if choice.seal_type == "pkcs11":
        if not access.pkcs11_library or access.pkcs11_pin_file is None:
            raise SealError("the pkcs11 seal needs --pkcs11-library and --pkcs11-pin-file")
        settings = pkcs11.Pkcs11Settings.from_pin_file(
            access.pkcs11_library, choice.pkcs11_token_label, access.pkcs11_pin_file,
            choice.pkcs11_key_label,
        )  # fmt: skip
        pkcs11.ensure_key(settings)
        params = {"library": access.pkcs11_library, "token_label": choice.pkcs11_token_label,
                  "key_label": choice.pkcs11_key_label}  # fmt: skip
        return pkcs11.protect(settings, root), None, [], params
    if choice.seal_type == "kms":
        if not choice.kms_key_id:
            raise SealError("the kms seal needs --seal-kms-key-id")
        settings_kms = kms.KmsSettings(
            choice.kms_key_id, choice.kms_endpoint_url or None, choice.kms_region or None
        )
        params = {"key_id": choice.kms_key_id, "endpoint_url": choice.kms_endpoint_url,
                  "region": choice.kms_region}  # fmt: skip
        return kms.protect(settings_kms, root), None, [], params
    if choice.seal_type != "file":
        raise SealError(f"no such seal: {choice.seal_type} (file, shamir, pkcs11, kms)")
    return b"", None, [], {}


def initialise(storage: Storage, choice: SealChoice, access: SealAccess, random: Random) -> SetUp:
    """A new store's root of trust: R in the seal, K under R. Refuses a store that has one,
    or that holds data of a release before the root of trust (that one is adopted)."""
    if read_record(storage) is not None:
        raise SealError("this store is initialised already (it has a seal)")
    if stored_check(storage) is not None:
        raise SealError("this store was made before seals existed: start `cofre serve` on it")
    root = access.file.create(random) if choice.seal_type == "file" else random(KEY_LEN)
    key = random(KEY_LEN)
    sealed, template, unseal_keys, params = _protect(choice, root, access, random)
    keyring = wrap(Cipher(root), key, KEYRING_AAD, random)
    shamir_set = template.shamir if template is not None else None
    record = SealRecord(choice.seal_type, keyring, sealed, shamir_set, params)
    write_record(storage, record, replacing=None)
    verify_root_key(storage, Cipher(key), random)  # the keyring's own check value
    return SetUp(key, record, unseal_keys)


def adopt_legacy(storage: Storage, access: SealAccess, random: Random) -> SealRecord:
    """A store made before the root of trust: its root key (file or environment) wrapped
    everything, so it becomes the keyring key, wrapped under itself as the first root key
    (``cofre operator rotate-root`` then gives it a root of its own). Its audit chain's MACs
    so far used the earlier key derivation: the new one (HKDF) applies from the next seq."""
    root = access.file.read()
    keyring = wrap(Cipher(root), root, KEYRING_AAD, random)
    record = SealRecord("file", keyring)
    with storage.write() as tx:
        head = tx.lock_audit_chain().head_seq
        adopted = tx.lock_meta(SEAL_META)
        if adopted is not None:  # another node sharing the database adopted it first
            return decode_record(adopted)
        tx.set_meta(AUDIT_MAC_SINCE_META, str(head + 1))
        tx.set_meta(SEAL_META, encode_record(record))
    return record


def migrate_seal(storage: Storage, choice: SealChoice, access: SealAccess, random: Random) -> SetUp:
    """Move a store from the ``file`` seal to ``choice`` (offline): the root key and the
    keyring are unchanged; the new seal protects the root key; ``root.key`` is removed."""
    record = read_record(storage)
    if record is None or record.seal_type != "file":
        raise SealError("migrate-seal moves a store from the file seal (start `cofre serve` once)")
    if choice.seal_type == "file":
        raise SealError("the store is on the file seal already")
    root = access.file.read()
    key = open_keyring(record, root)
    sealed, template, unseal_keys, params = _protect(choice, root, access, random)
    shamir_set = template.shamir if template is not None else None
    moved = SealRecord(choice.seal_type, record.keyring, sealed, shamir_set, params)
    write_record(storage, moved, replacing=record)
    if not access.file.env_value:
        access.file.remove()
    return SetUp(key, moved, unseal_keys)


def rekey(
    storage: Storage, old_keys: list[str], shares: int, threshold: int, random: Random
) -> SetUp:
    """New unseal keys for a shamir store, from a quorum of the old ones: R is rewrapped
    under a new unseal key; the old keys open nothing any more."""
    record = read_record(storage)
    if record is None or record.seal_type != "shamir" or record.shamir is None:
        raise SealError("rekey issues new unseal keys for a store on the shamir seal")
    progress = shamir.Progress()
    chosen = None
    for text in old_keys:
        chosen = progress.add(record, decode_share(text))
        if chosen is not None:
            break
    if chosen is None:
        raise SealError(
            f"rekey needs {record.shamir.threshold} of the current unseal keys"
            f" (got {len(progress.shares)})"
        )
    root = shamir.open_root(record, shamir.combine(chosen))
    key = open_keyring(record, root)
    share_set, sealed, issued = shamir.split(root, shares, threshold, random)
    rekeyed = SealRecord("shamir", record.keyring, sealed, share_set, record.params)
    write_record(storage, rekeyed, replacing=record)
    return SetUp(key, rekeyed, [encode_share(s) for s in issued])
