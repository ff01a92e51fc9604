"""The AWS Query protocol (IAM, STS): form-encoded requests, XML responses."""
