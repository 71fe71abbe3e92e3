"""Builds each function's Powertools resolver and turns every error into one JSON shape.

`{"error": {"code", "message", "details"}}` with the status of our error family; request
validation failures become 422 naming each field; anything unexpected is a logged 500
that reveals nothing but the request id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from idp.errors import IdpError, InvalidInput, NotFound
from idp.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.event_handler.api_gateway import Router
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

__all__ = ["build_resolver", "error_response", "validation_details"]


def error_response(error: IdpError) -> Response:
    from aws_lambda_powertools.event_handler import Response

    return Response(
        status_code=error.status,
        content_type="application/json",
        body=json.dumps(error.to_body(), default=str),
    )


def validation_details(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic errors as `{field, message}`, the field a dotted path inside the body/query."""
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        message = str(err.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        details.append({"field": ".".join(loc) or "body", "message": message})
    return details


def _access_gate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Every route passes the one access table before its handler runs; the handler gets its decision."""
    from idp import deps
    from idp.api.caller import caller_from_event
    from idp.api.context import remember
    from idp.api.gate import check_route
    from idp.api.iam import iam_user_arn
    from idp.errors import Unauthenticated

    event = app.current_event
    try:
        caller = caller_from_event(event.raw_event)
    except Unauthenticated:
        caller = None
    decision = check_route(
        deps.database,
        caller,
        event.http_method,
        event.resource,
        dict(event.path_parameters or {}),
        dict(event.query_string_parameters or {}),
        iam_user_arn=iam_user_arn(event.raw_event),
    )
    remember(app, decision)
    # Path parameters decoded once, as API Gateway passes them: the handler sees what the gate saw
    # (Powertools would hand it the percent-encoded text of the path).
    route_args = app.context.get("_route_args") or {}
    decoded = event.path_parameters or {}
    app.context["_route_args"] = {name: decoded.get(name, value) for name, value in route_args.items()}
    return next_middleware(app)


def build_resolver(routers: Iterable[Router], *, title: str, description: str = "") -> APIGatewayRestResolver:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    from idp.api.screening import screen
    from idp.config import get_settings

    class ScreenedResolver(APIGatewayRestResolver):
        """Screens every request (`idp.api.screening`) before any route, middleware or validation sees it."""

        def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
            refusal = screen(event)
            if refusal is not None:
                return {
                    "statusCode": refusal.status,
                    "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(refusal.to_body(), default=str),
                    "isBase64Encoded": False,
                }
            return super().resolve(event, context)

    resolver = ScreenedResolver(enable_validation=True)
    for router in routers:
        resolver.include_router(router)
    resolver.use([_access_gate])

    @resolver.exception_handler(IdpError)
    def handle_idp_error(error: IdpError) -> Response:
        if error.status >= 500:
            logger.warning("request failed downstream", extra={"code": error.code, "error": error.message})
        return error_response(error)

    @resolver.exception_handler(RequestValidationError)
    def handle_validation(error: RequestValidationError) -> Response:
        details = validation_details(error.errors())
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(InvalidInput(f"invalid request: {summary}", details=details))

    @resolver.exception_handler(json.JSONDecodeError)
    def handle_bad_json(error: json.JSONDecodeError) -> Response:
        return error_response(InvalidInput(f"request body is not valid JSON: {error.msg}", code="invalid_json"))

    @resolver.not_found
    def handle_not_found(_: Exception) -> Response:
        event = resolver.current_event
        return error_response(NotFound(f"no route for {event.http_method} {event.path}", code="route_not_found"))

    @resolver.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        request_id = resolver.current_event.request_context.request_id
        return error_response(
            IdpError(f"internal error; quote request id {request_id} when reporting it", details=None)
        )

    if get_settings().enable_swagger:
        resolver.enable_swagger(path="/swagger", title=title, description=description)
    return resolver
