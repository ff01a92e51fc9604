"""In-memory caches of key material, aliases and credentials, kept coherent across nodes."""
