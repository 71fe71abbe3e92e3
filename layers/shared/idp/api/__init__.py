"""The HTTP edge: the resolver factory, the access gate, the error translator and the route modules."""

from idp.api.resolver import build_resolver, error_response

__all__ = ["build_resolver", "error_response"]
