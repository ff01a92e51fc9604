"""Operating a node (ADR 20): what a metrics scrape reads from storage, and request quotas."""
