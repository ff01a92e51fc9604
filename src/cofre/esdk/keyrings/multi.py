"""Multi-keyring (framework/multi-keyring.md)."""

from __future__ import annotations

from collections.abc import Sequence

from cofre.esdk.errors import ConfigurationError, EncryptError, EsdkError
from cofre.esdk.materials import (
    DecryptionMaterials,
    EncryptedDataKey,
    EncryptionMaterials,
    Keyring,
)


class MultiKeyring:
    """Encrypts under the generator and every child; decrypts with the first that can."""

    def __init__(self, generator: Keyring | None = None, children: Sequence[Keyring] = ()) -> None:
        # multi-keyring.md#inputs: a generator or at least one child MUST be given
        if generator is None and not children:
            raise ConfigurationError("multi-keyring needs a generator or children")
        self.generator = generator
        self.children = tuple(children)

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self.generator is None and materials.plaintext_data_key is None:
            # multi-keyring.md#onencrypt: without a generator, the data key must exist
            raise EncryptError("multi-keyring without a generator needs a data key")
        if self.generator is not None:
            materials = self.generator.on_encrypt(materials)
            if materials.plaintext_data_key is None:
                raise EncryptError("generator keyring did not produce a data key")
        for child in self.children:
            materials = child.on_encrypt(materials)
        return materials

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        keyrings = ([self.generator] if self.generator is not None else []) + list(self.children)
        for keyring in keyrings:
            # multi-keyring.md#ondecrypt: a failing child does not stop the others
            try:
                result = keyring.on_decrypt(materials, edks)
            except EsdkError:
                continue
            if result.plaintext_data_key is not None:
                return result
        return materials
