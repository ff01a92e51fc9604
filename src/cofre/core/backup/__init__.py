"""The backup file format: frames, checksums, and rows of tables (docs/formats/backup.md)."""
