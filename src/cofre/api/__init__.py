"""The API layer: wire protocols in, the service layer called, wire protocols out."""
