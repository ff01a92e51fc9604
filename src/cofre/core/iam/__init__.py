"""Accounts, credentials, callers, and the IAM entities of an account."""
