"""Cofre: a self-hosted key management service that speaks the AWS wire protocols."""

__version__ = "0.1.0"
