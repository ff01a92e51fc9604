"""One short handler per operation: decode the shape, call the service, encode the shape."""
