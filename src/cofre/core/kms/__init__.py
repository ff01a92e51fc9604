"""KMS keys: specs, states, ciphertext blobs, asymmetric and imported material, grants."""
