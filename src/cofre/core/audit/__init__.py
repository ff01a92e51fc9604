"""The audit trail's values and formats: CloudTrail records, the hash chain, the journal."""
