"""The audit trail: every call recorded before its answer leaves, read back, signed."""
