"""Errors of the Encryption SDK: one root, few classes.

The tree::

    EsdkError
    ├── ConfigurationError   the caller asked for something invalid (bad frame length,
    │                        suite forbidden by the commitment policy, reserved context key)
    ├── EncryptError         materials could not be obtained, too many encrypted data keys
    └── DecryptError         EVERY decrypt failure: malformed message, no keyring could
                             decrypt a data key, wrong commitment, bad tag, bad signature

``DecryptError`` messages say which stage failed ("malformed message", "no keyring could
decrypt a data key", "authentication failed") but never why a tag or a key did not match,
so they carry no oracle. Foreign exceptions (``cryptography.exceptions.InvalidTag``,
``InvalidSignature``, ``struct.error``) are translated where they occur with ``raise ... from``.
"""

from __future__ import annotations


class EsdkError(Exception):
    """Root of every error the Encryption SDK raises."""


class ConfigurationError(EsdkError):
    """An argument or combination of arguments is invalid."""


class EncryptError(EsdkError):
    """Encryption could not proceed (no materials, too many data keys, keyring failure)."""


class DecryptError(EsdkError):
    """The message cannot be decrypted; no plaintext is returned."""


MALFORMED = "malformed message"
AUTH_FAILED = "message authentication failed"
NO_DATA_KEY = "no keyring could decrypt any of the encrypted data keys"
