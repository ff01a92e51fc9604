"""What happens to one request: authenticate, route, validate, run, audit, answer."""
