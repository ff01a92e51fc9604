"""KMS use cases: keys, aliases, cryptography, grants, imported material."""
