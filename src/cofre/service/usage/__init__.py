"""The usage and cost report, read from the audit trail (docs/usage.md)."""
