"""Adapters around third-party clients; the only modules that import them."""
