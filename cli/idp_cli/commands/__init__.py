"""The `idp` commands that talk to the API over HTTPS: login, tenants, members, tokens."""
