"""Spaces (one per INS, opened by default) and the login links that tie an OIDC subject to one INS."""
