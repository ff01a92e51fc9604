"""Ed25519ph: RFC 8032 HashEdDSA on edwards25519 (section 5.1, phflag 1, empty context).

pyca/cryptography offers only PureEdDSA Ed25519, so Ed25519ph comes from pycryptodome's
``Crypto.Signature.eddsa``, which runs HashEdDSA when given a SHA-512 hash object (it then
signs ``dom2(1, "") || PH(M)`` with ``PH = SHA-512``). The private key stays a cryptography
object everywhere else; its 32-byte seed (RFC 8032 section 5.1.5) is handed over only for
the signature and never kept. No curve arithmetic lives here.
"""

from __future__ import annotations

from Crypto.Hash import SHA512
from Crypto.Signature import eddsa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

_RAW = serialization.Encoding.Raw


def sign(private: ed25519.Ed25519PrivateKey, message: bytes) -> bytes:
    """The Ed25519ph signature of ``message`` (64 bytes, R || S)."""
    seed = private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())  # fmt: skip
    signer = eddsa.new(eddsa.import_private_key(seed), "rfc8032")
    # RFC 8032 5.1.6: HashEdDSA when the input is a SHA-512 object; PH(M) = SHA-512(M).
    return bytes(signer.sign(SHA512.new(message)))


def verify(public: ed25519.Ed25519PublicKey, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is a valid Ed25519ph signature of ``message``; else ValueError."""
    raw = public.public_bytes(_RAW, serialization.PublicFormat.Raw)
    verifier = eddsa.new(eddsa.import_public_key(raw), "rfc8032")
    verifier.verify(SHA512.new(message), signature)
