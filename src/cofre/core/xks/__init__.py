"""External key stores: Cofre as an AWS KMS XKS proxy (ADR 22).

``stores``: the logical key stores, their names, path prefixes and SigV4 credentials;
``cipher``: the bytes the XKS Encrypt and Decrypt operations exchange (the associated data
the key sees, the ciphertext metadata that carries the backing version, the integrity value).
"""
