"""``cofre params``: Parameter Store templates and webhooks, as a client of a server."""
