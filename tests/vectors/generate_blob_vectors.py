"""Generate tests/vectors/ciphertext-blob-v{1,2}.json with Cofre's own implementation
(format 2: the key id of a multi-Region key).

Run: .venv/bin/python tests/vectors/generate_blob_vectors.py
The vectors are checked in tests/unit/core/kms/test_blob_vectors.py by a second, independent
construction (raw AESGCM with the associated data built by hand from the format page).
"""

from __future__ import annotations

import json
from pathlib import Path

from cofre.core.crypto import Cipher
from cofre.core.kms.blob import BlobHeader
from cofre.core.kms.context import canonical_context

CASES = [
    ("empty context", b"hello", {}),
    ("one pair", b"\x00\x01\x02\x03", {"purpose": "test"}),
    ("sorted by key bytes", b"x" * 64, {"b": "2", "a": "1", "\u00e9": "accent"}),
    ("4 KiB", bytes(range(256)) * 16, {"k": ""}),
]


def key_id_of(version: int, index: int) -> str:
    if version == 1:
        return f"0000000{index}-1111-4222-8333-444444444444"
    return f"mrk-0000000{index}111142228333444444444444"


def main() -> None:
    for version in (1, 2):
        write(version)


def write(version: int) -> None:
    out = []
    for index, (name, plaintext, context) in enumerate(CASES):
        material = bytes([index + 1]) * 32
        key_id = key_id_of(version, index)
        version_id = bytes([0xA0 + index]) * 32
        iv = bytes([0x10 + index]) * 12
        header = BlobHeader(key_id, version_id).encode()
        sealed = Cipher(material).seal(iv, plaintext, header + canonical_context(context))
        out.append(
            {
                "name": name,
                "material": material.hex(),
                "key_id": key_id,
                "version_id": version_id.hex(),
                "iv": iv.hex(),
                "context": context,
                "plaintext": plaintext.hex(),
                "blob": (header + iv + sealed).hex(),
            }
        )
    path = Path(__file__).with_name(f"ciphertext-blob-v{version}.json")
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
