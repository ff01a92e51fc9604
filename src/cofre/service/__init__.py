"""Use cases: the core orchestrated over the ports (storage, clock, randomness)."""
