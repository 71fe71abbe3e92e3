"""The HTTP edge: the resolver factory, the access gate, the error translator and the route modules.

`build_resolver` and `error_response` load `idp.api.resolver` (Powertools' event handler) when first
asked for: the authorizer imports `idp.api.authorizer` from this package and never needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idp.api.resolver import build_resolver, error_response

__all__ = ["build_resolver", "error_response"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from idp.api import resolver

        return getattr(resolver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
