"""The last frame of a framed message, asserted on bytes.

encrypt.md#construct-the-body lets an input that is an exact multiple of the frame length
end with either a full final frame or a regular frame and an empty final frame. Cofre
writes the second form, as the official SDKs do (their 3.x line rejects the first), and
decrypts both.
"""

from __future__ import annotations

import io
import struct

import pytest

from cofre import esdk
from cofre.esdk.body import FINAL_FRAME_MARKER, read_frame
from cofre.esdk.crypto import derive_keys
from cofre.esdk.frames import FrameSealer

SUITE = esdk.AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY  # unsigned: no footer
FRAME = 4
REGULAR = 4 + 12 + FRAME + 16  # sequence number, IV, content, tag
FINAL_OVERHEAD = 4 + 4 + 12 + 4 + 16  # marker, sequence number, IV, length, tag


class RecordingCmm:
    """The default CMM, keeping the last encryption materials (for the data key)."""

    def __init__(self, keyring: esdk.Keyring) -> None:
        self._inner = esdk.DefaultCmm(keyring)
        self.materials: esdk.EncryptionMaterials | None = None

    def get_encryption_materials(
        self, request: esdk.EncryptionMaterialsRequest
    ) -> esdk.EncryptionMaterials:
        self.materials = self._inner.get_encryption_materials(request)
        return self.materials

    def decrypt_materials(self, request: esdk.DecryptMaterialsRequest) -> esdk.DecryptionMaterials:
        return self._inner.decrypt_materials(request)


def _body_length(size: int) -> int:
    return size // FRAME * REGULAR + FINAL_OVERHEAD + size % FRAME


def _frames(body: bytes) -> list[tuple[int, bool, int]]:
    """(sequence number, final, content length) of every frame of ``body``."""
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        pos += n
        return body[pos - n : pos]

    found = []
    while True:
        frame = read_frame(read, FRAME)
        found.append((frame.seq, frame.final, frame.content_length()))
        if frame.final:
            assert pos == len(body)
            return found


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, [(1, True, 0)]),
        (1, [(1, True, 1)]),
        (FRAME - 1, [(1, True, 3)]),
        (FRAME, [(1, False, 4), (2, True, 0)]),
        (FRAME + 1, [(1, False, 4), (2, True, 1)]),
        (2 * FRAME, [(1, False, 4), (2, False, 4), (3, True, 0)]),
    ],
)
def test_exact_multiples_end_with_an_empty_final_frame(
    size: int, expected: list[tuple[int, bool, int]], aes_keyring: esdk.RawAesKeyring
) -> None:
    message, _ = esdk.encrypt(b"p" * size, aes_keyring, algorithm=SUITE, frame_length=FRAME)
    body = message[-_body_length(size) :]
    assert _frames(body) == expected
    assert body[-FINAL_OVERHEAD - size % FRAME :][:4] == struct.pack(">I", FINAL_FRAME_MARKER)
    assert esdk.decrypt(message, aes_keyring)[0] == b"p" * size


def test_exact_multiple_of_a_batch_ends_with_an_empty_final_frame(
    aes_keyring: esdk.RawAesKeyring,
) -> None:
    """Input that fills whole batches of frames: the empty final frame comes after them."""
    size = 2 << 20
    message, _ = esdk.encrypt(bytes(size), aes_keyring, algorithm=SUITE, frame_length=4096)
    final = message[-(4 + 4 + 12 + 4 + 16) :]
    marker, seq, _iv, length = struct.unpack(">II12sI", final[:24])
    assert (marker, seq, length) == (FINAL_FRAME_MARKER, size // 4096 + 1, 0)
    assert esdk.decrypt(message, aes_keyring)[0] == bytes(size)


@pytest.mark.parametrize("size", [FRAME, 2 * FRAME])
def test_a_full_final_frame_still_decrypts(size: int, aes_keyring: esdk.RawAesKeyring) -> None:
    """The other form the specification allows (Cofre wrote it before): the last whole
    frame is the final frame."""
    cmm = RecordingCmm(aes_keyring)
    plaintext = bytes(range(size))
    message, header = esdk.encrypt(
        plaintext, materials_manager=cmm, algorithm=SUITE, frame_length=FRAME
    )
    assert cmm.materials is not None and cmm.materials.plaintext_data_key is not None
    key, _ = derive_keys(SUITE, cmm.materials.plaintext_data_key, header.message_id)
    sealer = FrameSealer(key, header.message_id, FRAME, SUITE.spec)
    regular = bytes(sealer.seal_regular(plaintext[:-FRAME], bytearray(REGULAR * size // FRAME)))
    final = sealer.seal_final(plaintext[-FRAME:])
    assert final[:4] == struct.pack(">I", FINAL_FRAME_MARKER)
    assert int.from_bytes(final[20:24], "big") == FRAME
    other = message[: -_body_length(size)] + regular + final
    assert _frames(other[-len(regular + final) :])[-1] == (size // FRAME, True, FRAME)
    assert esdk.decrypt(other, materials_manager=cmm)[0] == plaintext
    sink = io.BytesIO()
    esdk.decrypt_stream(io.BytesIO(other), sink, materials_manager=cmm, require_end=True)
    assert sink.getvalue() == plaintext
