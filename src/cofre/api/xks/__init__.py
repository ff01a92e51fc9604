"""The XKS Proxy API (ADR 22): ``wire`` decodes requests and encodes answers and errors
as the specification writes them; ``front`` routes, authenticates, runs and records."""
