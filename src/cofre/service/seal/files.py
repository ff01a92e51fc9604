"""The ``file`` seal's root key: 32 bytes in ``root.key`` (mode 0600) in the data
directory, or in ``COFRE_ROOT_KEY`` (base64). For development and tests only: anyone who
can read the file reads every key; ``cofre serve`` says so on every start."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

from cofre.core.crypto import KEY_LEN, Random
from cofre.errors import SealError

ROOT_KEY_FILE = "root.key"
ROOT_KEY_ENV = "COFRE_ROOT_KEY"
_STAGED = ".new-"


def write_new_key(path: Path, key: bytes) -> None:
    """``key`` in a new file (never over one), 0600, on disk before this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FileRoot:
    path: Path
    env_value: str | None = field(default=None, repr=False)

    @classmethod
    def in_dir(cls, data_dir: Path, env_value: str | None) -> FileRoot:
        return cls(data_dir / ROOT_KEY_FILE, env_value)

    def exists(self) -> bool:
        return bool(self.env_value) or self.path.exists()

    def read(self) -> bytes:
        if self.env_value:
            try:
                key = base64.b64decode(self.env_value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SealError(f"{ROOT_KEY_ENV} is not valid base64") from exc
            if len(key) != KEY_LEN:
                raise SealError(f"{ROOT_KEY_ENV} must hold 32 bytes")
            return key
        if not self.path.exists():
            raise SealError(
                f"no root key: {self.path} does not exist and {ROOT_KEY_ENV} is not set"
            )
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SealError(f"{self.path} must not be readable by group or others (mode {mode:o})")
        key = self.path.read_bytes()
        if len(key) != KEY_LEN:
            raise SealError(f"{self.path} must hold 32 bytes")
        return key

    def create(self, random: Random) -> bytes:
        """The root key: the environment's, the file's if the operator put one there, or a
        new one in a new 0600 file."""
        if self.env_value or self.path.exists():
            return self.read()
        key = random(KEY_LEN)
        write_new_key(self.path, key)
        return key

    def stage(self, key: bytes, random: Random) -> Path:
        """Write a rotated key beside the current one (``root.key.new-<random>``, 0600):
        the keeper promotes it once the seal record under it is committed, or discards
        it. A name of its own, so that two rotations at once never share a file."""
        if self.env_value:
            raise SealError(
                f"the root key comes from {ROOT_KEY_ENV}: a rotated key cannot be written there;"
                " use a root.key file, or another seal"
            )
        staged = self.path.with_name(f"{self.path.name}{_STAGED}{random(8).hex()}")
        write_new_key(staged, key)
        return staged

    def staged(self) -> dict[Path, bytes]:
        """The keys rotations staged and did not promote (one may have committed)."""
        if self.env_value:
            return {}
        found = {}
        for path in sorted(self.path.parent.glob(f"{self.path.name}{_STAGED}*")):
            key = path.read_bytes()
            if len(key) == KEY_LEN:
                found[path] = key
        return found

    def promote(self, staged: Path) -> None:
        """``staged`` becomes the key, atomically (a rename, then the directory synced)."""
        os.replace(staged, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @staticmethod
    def discard(staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def remove(self) -> None:
        """Overwrite and delete the file (moving to another seal)."""
        if self.path.exists():
            with open(self.path, "r+b") as handle:
                handle.write(bytes(KEY_LEN))
                handle.flush()
                os.fsync(handle.fileno())
            self.path.unlink()
