"""Authentication (platform JWTs, the authorizer) and authorization (one role table)."""
