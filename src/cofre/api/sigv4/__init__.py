"""AWS Signature Version 4, verified server side."""
