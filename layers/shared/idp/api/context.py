"""What the gate decided for the current request, as the route handlers read it.

The gate (`idp.api.gate.check_route`) runs before every handler and stores its `Decision`
with the request's event; handlers take the caller and the tenant access from there instead
of parsing the event or authorizing again. (On the event rather than in Powertools' context:
a router included by two resolvers in one process, as the local gateway and the tests do,
reads the context of whichever included it last, while the event is always this request's.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.errors import Unauthenticated
from idp.principal import Caller
from idp.tenants.access import TenantAccess

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.api_gateway import Router

    from idp.api.gate import Decision

__all__ = ["access", "caller", "optional_access", "remember"]

_KEY = "idp_decision"


def remember(app: APIGatewayRestResolver, decision: Decision) -> None:
    app.current_event.raw_event[_KEY] = decision


def _decision(router: Router) -> Decision:
    decision = router.current_event.raw_event.get(_KEY)
    if decision is None:  # only if a route were served without the gate: fail closed
        raise Unauthenticated("the request was not checked by the access gate")
    return decision


def caller(router: Router) -> Caller:
    """The signed-in caller of this request."""
    found = _decision(router).caller
    if found is None:
        raise Unauthenticated("this route needs a signed-in caller")
    return found


def access(router: Router) -> TenantAccess:
    """The caller's access to the route's tenant, as the gate decided it."""
    found = _decision(router).access
    if found is None:
        raise Unauthenticated("the access gate decided no tenant access for this route")
    return found


def optional_access(router: Router) -> TenantAccess | None:
    """The tenant access when the gate decided one (routes where platform admins go unscoped)."""
    return _decision(router).access
