"""Usage and cost: metering the audit trail, pricing it (docs/usage.md)."""
