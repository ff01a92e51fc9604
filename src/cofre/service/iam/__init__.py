"""Accounts, IAM users, roles, policies, and STS."""
