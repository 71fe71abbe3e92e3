"""The API's contract: one OpenAPI 3.1 document of every route, generated from what serves them.

Each function's Powertools resolver describes its routes (`get_openapi_json_schema()`: parameters,
bodies, success answers, and what each route declares with `idp.api.contract.answers`); the paths
and component schemas of all of them are merged, and the set of operations must be exactly the API
events of template.yaml. Then each operation gets what every route of its kind answers, derived
from one place each:

- who may call it (template.yaml's authorizer, `idp.api.gate.ROUTE_POLICIES`): public routes no
  401/403; platform-token routes 401, and 403 when service accounts are kept out or an action is
  checked, and 404 when a tenant (or a deployment's tenant) is looked up; AWS_IAM routes 403 (a bad
  signature, another caller than chat-ops) and 404 (API Gateway answers an unsigned call as an
  unknown route);
- the request screen (`idp.api.screening`): 422 for every screened route, and 400/413/415 for a
  route that takes a body;
- API Gateway's throttle: 429 everywhere.

Every error has the one `Error` schema, `{"error": {"code", "message", "details"}}`; security is
the `bearer` scheme (platform or service-account token) on authorizer routes, `sigv4` on AWS_IAM
ones, none on public ones. The chat-ops route is a Chalice app handing Slack's requests to Bolt: no
resolver describes it, so it is written out below.

`make openapi` writes `layers/shared/idp/api/openapi.json` (shipped in the layer, served at
`GET /openapi.json`); `tests/test_openapi.py` fails when that file is stale.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from idp.api.contract import DOCUMENT, ERROR_SCHEMA_REF
from idp.api.gate import ROUTE_POLICIES, RoutePolicy
from idp_local.lambda_runtime import FunctionRuntime
from idp_local.template import ApiSpec, FunctionSpec, RouteSpec, load_template

__all__ = ["DOCUMENT", "ROOT", "build_document", "render"]

ROOT = Path(__file__).resolve().parents[2]
_METHODS = ("get", "put", "post", "patch", "delete")
# What Powertools adds that our error translator replaces with the Error shape.
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": (
        "Every error, the functions' and API Gateway's own: a stable machine-readable `code`, a message for"
        " people, and `details` (for invalid input a list of `{field, message}`, else an object or null)."
    ),
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["tenant_not_found", "invalid_input", "route_not_found"]},
                "message": {"type": "string"},
                "details": {"description": "what the error is about: fields, names, ids; or null"},
            },
        }
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A platform token (RS256 JWT from POST /auth/token, 15 minutes) or a service account's"
            " token (idp_sa_...), checked by the API's Lambda authorizer."
        ),
    },
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "AWS Signature Version 4 (service execute-api) by a session of the chat-ops function's IAM role:"
            " API Gateway checks the signature (AWS_IAM), the access gate the role."
        ),
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
}

# The chat-ops function's one route (a Chalice app; Bolt checks Slack's signature before anything).
_SLACK_EVENTS: dict[str, Any] = {
    "summary": "Slack's requests for the chat-ops app: slash commands, interactions and events",
    "description": (
        "Signed by Slack (X-Slack-Signature, X-Slack-Request-Timestamp within 300 s), not with a platform"
        " token. Answered by Bolt: an acknowledgement within 3 s, the work done lazily."
    ),
    "operationId": "slack_events_slack_events_post",
    "parameters": [
        {"name": "X-Slack-Signature", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "X-Slack-Request-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    "responses": {
        "200": {"description": "Bolt's acknowledgement (empty, or a message or view for Slack)"},
        "400": {
            "description": "invalid_slack_request: signed, but not a form or JSON object as Slack sends",
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
        },
        "401": {
            "description": "invalid_slack_signature: not signed by Slack, or more than 300 s old",
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
        },
    },
}
_HAND_WRITTEN: Mapping[tuple[str, str], dict[str, Any]] = {("POST", "/slack/events"): _SLACK_EVENTS}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}}}


def _derived_errors(route: RouteSpec, policy: RoutePolicy, *, has_body: bool, screened: bool) -> dict[int, str]:
    """What the route answers because of who may call it, what it takes (`screened`: a resolver's route,
    behind the request screen), and API Gateway's throttle."""
    found: dict[int, str] = {}
    if route.iam:
        found[403] = (
            "INVALID_SIGNATURE / UNRECOGNIZED_CLIENT: API Gateway refused the SigV4 signature;"
            " forbidden: signed by another principal than the chat-ops function's role"
        )
        found[404] = "route_not_found: an unsigned request (API Gateway answers it as it answers an unknown route)"
    elif route.authorizer is not None:
        found[401] = (
            "unauthenticated / token_*: no valid platform or service-account token;"
            " token_revoked: the service account was revoked or has expired"
        )
        if policy.users_only or policy.action is not None:
            codes = ["forbidden: the caller's role does not allow this"]
            if policy.users_only:
                codes.append("forbidden: service accounts may not call this route")
            if policy.action is not None and policy.tenant_from == "path" and policy.admins_unscoped:
                codes.append("tenant_required: name a tenant with ?tenant=")
            found[403] = "; ".join(codes)
        if policy.action is not None:
            found[404] = (
                "deployment_not_found: no such deployment, or not in a tenant of the caller's"
                if policy.tenant_from == "deployment"
                else "tenant_not_found: no such tenant, or the caller is not a member (its existence does not leak)"
            )
    if screened:
        found[422] = (
            "invalid_input: a field or parameter fails validation (`details` names each);"
            " control_characters: a control character in a parameter, a header read, or the body"
        )
    if screened and has_body:
        found[400] = "invalid_json / invalid_encoding: the body is not JSON, or not UTF-8"
        found[413] = "payload_too_large: the body is over 64 KiB"
        found[415] = "unsupported_media_type: a body that is not Content-Type: application/json"
        found[422] += "; body_too_complex: nested too deep, or an integer too long"
    found[429] = "rate_limited: API Gateway's throttle for this method"
    return found


def _operation(route: RouteSpec, operation: dict[str, Any], tag: str, *, screened: bool) -> dict[str, Any]:
    op = copy.deepcopy(operation)
    op["tags"] = [tag]
    responses: dict[str, Any] = op.setdefault("responses", {})
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]  # Powertools' HTTPValidationError: our translator answers with Error
    policy = ROUTE_POLICIES[(route.method, route.path)]
    derived = _derived_errors(route, policy, has_body="requestBody" in op, screened=screened)
    for status, description in derived.items():
        own = responses.get(str(status))
        responses[str(status)] = _error(f"{own['description']}; {description}" if own else description)
    op["responses"] = {code: responses[code] for code in sorted(responses)}
    if route.iam:
        op["security"] = [{"sigv4": []}]
    elif route.authorizer is not None:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    return op


def _resolver_document(spec: FunctionSpec) -> dict[str, Any] | None:
    """The function's own OpenAPI document, or None when it is not a Powertools resolver."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    runtime = FunctionRuntime(spec)
    runtime.handler()  # loads the module as the local gateway does, with the function's environment
    app = getattr(runtime.module, "app", None)
    if not isinstance(app, APIGatewayRestResolver):
        return None
    return dict(json.loads(app.get_openapi_json_schema(title=spec.logical_id, version="0")))


def _tag(function: str) -> str:
    return function.removesuffix("Function").lower()


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def _merge_schemas(into: dict[str, Any], schemas: Mapping[str, Any], function: str) -> None:
    for name, schema in schemas.items():
        if name in _POWERTOOLS_SCHEMAS:
            continue
        if name in into and into[name] != schema:
            raise ValueError(f"{function}: schema {name} differs from another function's schema of that name")
        into[name] = schema


def build_document(template_path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The merged OpenAPI 3.1 document of the template's API."""
    model = load_template(template_path)
    api: ApiSpec = model.api()
    routes = {(r.method, r.path): r for r in api.routes}
    operations: dict[tuple[str, str], dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for function in sorted({r.function for r in api.routes}):
        document = _resolver_document(model.functions[function])
        if document is None:
            continue
        _merge_schemas(schemas, document.get("components", {}).get("schemas", {}), function)
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                key = (method.upper(), path)
                if key in routes and routes[key].function != function:
                    raise ValueError(f"{method.upper()} {path}: served by {function}, routed to {routes[key].function}")
                operations[key] = operation
    operations.update({key: op for key, op in _HAND_WRITTEN.items() if key in routes})
    if set(operations) != set(routes):
        missing = sorted(set(routes) - set(operations))
        extra = sorted(set(operations) - set(routes))
        raise ValueError(f"the resolvers' routes differ from template.yaml's: missing {missing}, not routed {extra}")
    paths: dict[str, dict[str, Any]] = {}
    for key in sorted(operations, key=lambda k: (k[1], _METHODS.index(k[0].lower()))):
        route = routes[key]
        operation = _operation(route, operations[key], _tag(route.function), screened=key not in _HAND_WRITTEN)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "IDP API",
            "version": _version(),
            "description": (
                "The Internal Developer Platform's HTTPS API: tenants, members, service accounts, apps, deployments"
                " with approvals, sign-in and chat-ops' routes. Every route is under the stage"
                f" (/{api.stage}); an unknown route answers 404 route_not_found. Every error is"
                ' {"error": {"code", "message", "details"}}. Generated by `make openapi`.'
            ),
        },
        "servers": [
            {
                "url": f"/{api.stage}",
                "description": f"the API stage; deployed: https://<api-id>.execute-api.<region>.amazonaws.com/{api.stage}",
            }
        ],
        "tags": [{"name": _tag(f)} for f in sorted({r.function for r in api.routes})],
        "paths": paths,
        "components": {
            "schemas": {name: schemas[name] for name in sorted(schemas)},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render(document: Mapping[str, Any]) -> str:
    """The document as committed: indented JSON, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
