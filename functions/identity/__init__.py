"""Who is calling: INS identifiers, OIDC token verification, and the principal the edge hands to services."""
