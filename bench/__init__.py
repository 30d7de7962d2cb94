"""`make bench`: AWS calls per operation, Scan count, cold import ratio, verifier memory."""
