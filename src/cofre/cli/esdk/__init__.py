"""``cofre encrypt`` / ``cofre decrypt``: the AWS Encryption SDK message format on files."""
