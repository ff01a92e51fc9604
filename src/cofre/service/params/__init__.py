"""Parameter Store use cases: reads, writes, labels, tags, secure values, notifications."""
