"""The root of trust: the keyring in memory, the seals that protect the root key, and the
keeper that unseals and seals a node (ADR 19)."""
