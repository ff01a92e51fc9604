"""KMS operations (``TrentService.<Op>``) on the wire."""
