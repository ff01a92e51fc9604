"""``GET /metrics``: Prometheus's text format, summed over the workers of a node (ADR 20).

``requests`` counts calls on the hot path (in memory, flushed to prometheus-client's
per-process files about once a second); ``exposition`` answers a scrape from those files
and from the store (keys, rotations, outbox, audit backlog, seal); ``directory`` is the
files' place, which ``cofre serve`` empties at start.
"""
