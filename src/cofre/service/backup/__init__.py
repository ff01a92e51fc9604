"""Backup and restore: a consistent snapshot of every table to one file, and back."""
