"""The HTTP edge: the resolver factory, the error translator and the caller."""

from idp.http.app import build_resolver, error_response
from idp.http.caller import Caller, caller_from_event

__all__ = ["Caller", "build_resolver", "caller_from_event", "error_response"]
