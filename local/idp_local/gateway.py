"""A local API Gateway (REST, v1): the template's routes, authorizer, throttling and
gateway responses, in front of the functions run in-process.

Requests become Lambda proxy events as API Gateway builds them; the Lambda authorizer
runs the way API Gateway runs it (identity source check, result cache keyed on the
identity values, the policy evaluated against each request's method ARN); `AWS_IAM` routes
check a SigV4 signature against the credentials the gateway is given (`iam_credentials`,
see gateway_iam); API Gateway's own answers (401, 403, 429, 500, 502) come from the
template's GatewayResponses. Routes are read from template.yaml, so the local API and the
deployed one cannot drift. Throttling is per method, as API Gateway applies MethodSettings:
each (resource, method) has its own token bucket, sized by the setting that names it, else
by the stage's "/*" "*" one.

    gateway = LocalGateway(Path("template.yaml"), port=8080).start()
    gateway.url                # http://127.0.0.1:8080/v1 (the stage, like ApiUrl)
    status, headers, body = gateway.invoke("GET", "/tenants", headers={"Authorization": ...})
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlencode

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from idp_local.gateway_events import api_path, authorizer_event, method_arn, proxy_event, raw_path
from idp_local.gateway_iam import IamCredential, verify_sigv4
from idp_local.gateway_responses import GatewayError, gateway_response, proxy_response
from idp_local.lambda_runtime import FunctionRuntime
from idp_local.serving import BackgroundServer
from idp_local.template import REGION, ApiModel, ApiSpec, AuthorizerSpec, RouteSpec, load_template

__all__ = [
    "ApiModel",
    "IamCredential",
    "LocalGateway",
    "TokenBucket",
    "api_path",
    "load_template",
    "match_policy",
    "method_arn",
    "proxy_event",
    "raw_path",
]

log = logging.getLogger(__name__)

Throttle = tuple[float, float] | Literal["template"] | None


# ---------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Route:
    spec: RouteSpec
    segments: tuple[str, ...]

    @classmethod
    def of(cls, spec: RouteSpec) -> _Route:
        return cls(spec, tuple(s for s in spec.path.split("/") if s))

    def match(self, method: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(rank, decoded path parameters); a lower rank is more specific."""
        if self.spec.method not in (method, "ANY"):
            return None
        params: dict[str, str] = {}
        rank: list[int] = []
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[pattern[1:-2]] = unquote("/".join(rest))
                return (*rank, 2, int(self.spec.method == "ANY")), params
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = unquote(segments[index])
                rank.append(1)
            elif pattern == segments[index]:
                rank.append(0)
            else:
                return None
        if len(segments) != len(self.segments):
            return None
        return (*rank, int(self.spec.method == "ANY")), params


# ---------------------------------------------------------------- throttling


class TokenBucket:
    """API Gateway's throttle: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._last = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


# ---------------------------------------------------------------- authorizer policies


def _arn_pattern(resource: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource) + r"\Z")


def match_policy(policy: Mapping[str, Any], arn: str) -> Literal["Allow", "Deny"] | None:
    """An IAM policy's verdict on execute-api:Invoke of `arn`: an explicit Deny wins,
    then any Allow; None when no statement matches (an implicit deny)."""
    statements = policy.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(_arn_pattern(a.lower()).match("execute-api:invoke") for a in actions):
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_arn_pattern(r).match(arn) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else None


def _context_strings(context: Mapping[str, Any]) -> dict[str, str]:
    """Authorizer context values reach the integration as strings; objects are refused."""
    strings = {}
    for key, value in context.items():
        if isinstance(value, dict | list):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, None)
        strings[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return strings


# ---------------------------------------------------------------- the gateway


class LocalGateway:
    """Serves one API of a SAM template, in-process (`invoke`) or over HTTP (`start`).

    `api`: the API's logical id when the template has several. `parameters`: template
    parameter values (defaults otherwise). `throttle`: "template" uses the API's
    MethodSettings; (rate, burst) replaces them with that limit for every method; None disables
    throttling. `clock` drives the throttle and the authorizer cache (tests pass a fake).
    `iam_credentials`: access key id -> the secret and principal it stands for, the callers
    `AWS_IAM` routes accept (a mutable mapping: `gateway.iam_credentials`), signed for `iam_region`.
    """

    def __init__(
        self,
        template_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        throttle: Throttle = "template",
        clock: Callable[[], float] = time.monotonic,
        iam_credentials: Mapping[str, IamCredential] | None = None,
        iam_region: str = REGION,
    ) -> None:
        self.model = load_template(template_path, parameters)
        self.iam_credentials: dict[str, IamCredential] = dict(iam_credentials or {})
        self.iam_region = iam_region
        self.api: ApiSpec = self.model.api(api)
        self.host, self.port = host, port
        self._clock = clock
        self._routes = [_Route.of(r) for r in self.api.routes]
        # One warm "container" per function, loaded on its first request.
        self.functions: Mapping[str, FunctionRuntime] = {
            name: FunctionRuntime(spec) for name, spec in self.model.functions.items()
        }
        self._limits: Mapping[tuple[str, str], tuple[float, float]] = {}
        if throttle == "template":
            self._limits = self.api.throttling
        elif throttle is not None:
            self._limits = {("/*", "*"): throttle}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}  # (resource, METHOD) -> its own bucket
        self._buckets_lock = threading.Lock()
        self._auth_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._auth_lock = threading.Lock()
        self._server = BackgroundServer(self.wsgi_app, host, port, name="local-apigw", quiet=False)

    # -- serving

    @property
    def url(self) -> str:
        """The stage's base URL, like the template's ApiUrl output: http://host:port/v1."""
        if not self._server.running:
            raise RuntimeError("the gateway is not started")
        return f"http://{self.host}:{self.port}/{self.api.stage}"

    def start(self) -> LocalGateway:
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def invoke(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        query: Mapping[str, str | list[str]] | None = None,
    ) -> tuple[int, Headers, bytes]:
        """One request without HTTP; `path` is below the stage (/tenants, not /v1/tenants)."""
        pairs = [(k, v) for k, vs in (query or {}).items() for v in ([vs] if isinstance(vs, str) else vs)]
        builder = EnvironBuilder(
            path=f"/{self.api.stage}{path}",
            method=method.upper(),
            headers=Headers(dict(headers or {})),
            data=body.encode() if isinstance(body, str) else body,
            query_string=urlencode(pairs),
        )
        try:
            response = self.handle(builder.get_request())
        finally:
            builder.close()
        return response.status_code, response.headers, response.get_data()

    # -- one request

    def handle(self, request: Request) -> Response:
        """The answer to one request (the WSGI app and `invoke` both come here)."""
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except GatewayError as error:
            return gateway_response(
                self.api.gateway_responses, error, request=request, request_id=request_id, stage=self.api.stage
            )

    def _handle(self, request: Request, request_id: str) -> Response:
        segments = [s for s in raw_path(request).split("/") if s]
        if not segments or segments[0] != self.api.stage:
            # On its execute-api domain API Gateway answers a stage it lacks with a bare 403 {"message":
            # "Forbidden"} that no gateway response changes; here the stage is the only one there is,
            # so a path without it (/tenants for /v1/tenants) is an unknown route and says so.
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        route, params = self._match(request.method, segments[1:])
        self._throttle(route)
        authorizer = self._authorize(route, request, params, request_id) if route.authorizer else None
        identity = verify_sigv4(request, self.iam_credentials, region=self.iam_region) if route.iam else None
        event = proxy_event(
            request,
            resource=route.path,
            stage=self.api.stage,
            path_parameters=params,
            authorizer=authorizer,
            request_id=request_id,
            identity=identity,
        )
        try:
            # Through JSON, as Lambda does: no shared objects, unserialisable results fail.
            result = json.loads(json.dumps(self.functions[route.function].invoke(event)))
        except Exception:
            log.exception("%s failed on %s %s", route.function, request.method, route.path)
            raise GatewayError("DEFAULT_5XX", 502, "Internal server error") from None
        return proxy_response(result, request_id=request_id)

    def _match(self, method: str, segments: list[str]) -> tuple[RouteSpec, dict[str, str]]:
        best: tuple[tuple[int, ...], RouteSpec, dict[str, str]] | None = None
        for route in self._routes:
            found = route.match(method, segments)
            if found and (best is None or found[0] < best[0]):
                best = (found[0], route.spec, found[1])
        if best is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        return best[1], best[2]

    def _throttle(self, route: RouteSpec) -> None:
        method = (route.path, route.method)
        limit = self._limits.get(method) or self._limits.get(("/*", "*"))
        if limit is None:
            return
        with self._buckets_lock:
            bucket = self._buckets.get(method)
            if bucket is None:
                bucket = self._buckets[method] = TokenBucket(*limit, clock=self._clock)
        if not bucket.take():
            raise GatewayError("THROTTLED", 429, "Too Many Requests")

    # -- the Lambda authorizer

    def _authorize(self, route: RouteSpec, request: Request, params: dict[str, str], request_id: str) -> dict[str, Any]:
        spec = self.api.authorizers[str(route.authorizer)]
        identity = self._identity(spec, request)
        arn = method_arn(self.api.stage, request.method, api_path(request, self.api.stage))
        started = time.monotonic()
        output = self._cached(spec, identity)
        if output is None:
            proxy = proxy_event(
                request, resource=route.path, stage=self.api.stage, path_parameters=params, request_id=request_id
            )
            event = authorizer_event(proxy, payload_type=spec.payload_type, arn=arn, token=identity[0])
            output = self._run_authorizer(spec, event)
            if spec.reauthorize_every > 0:
                with self._auth_lock:
                    self._auth_cache[(spec.name, identity)] = (self._clock() + spec.reauthorize_every, output)
        latency = int((time.monotonic() - started) * 1000)
        context = output.get("context") or {}
        verdict = match_policy(output["policyDocument"], arn)
        if verdict == "Deny":
            message = "User is not authorized to access this resource with an explicit deny"
            raise GatewayError("ACCESS_DENIED", 403, message, context)
        if verdict is None:
            raise GatewayError("ACCESS_DENIED", 403, "User is not authorized to access this resource", context)
        return {"principalId": str(output["principalId"]), **_context_strings(context), "integrationLatency": latency}

    def _identity(self, spec: AuthorizerSpec, request: Request) -> tuple[str, ...]:
        """The identity sources' values; API Gateway answers 401 itself when one is missing."""
        values = [request.headers.get(h) for h in spec.headers] + [request.args.get(q) for q in spec.query_strings]
        if not values or any(not v for v in values):
            raise GatewayError("UNAUTHORIZED", 401, "Unauthorized")
        if spec.validation_expression and not re.fullmatch(spec.validation_expression, str(values[0])):
            raise GatewayError("UNAUTHORIZED", 401, "Unauthorized")
        return tuple(str(v) for v in values)

    def _cached(self, spec: AuthorizerSpec, identity: tuple[str, ...]) -> dict[str, Any] | None:
        if spec.reauthorize_every <= 0:
            return None
        with self._auth_lock:
            cached = self._auth_cache.get((spec.name, identity))
            return cached[1] if cached and cached[0] > self._clock() else None

    def _run_authorizer(self, spec: AuthorizerSpec, event: dict[str, Any]) -> dict[str, Any]:
        try:
            output = json.loads(json.dumps(self.functions[spec.function].invoke(event)))
        except Exception as exc:
            if str(exc) == "Unauthorized":  # the documented way for an authorizer to answer 401
                raise GatewayError("UNAUTHORIZED", 401, "Unauthorized") from None
            log.exception("authorizer %s failed", spec.name)
            raise GatewayError("AUTHORIZER_FAILURE", 500, None) from None
        if (
            not isinstance(output, dict)
            or "principalId" not in output
            or not isinstance(output.get("policyDocument"), dict)
            or not isinstance(output.get("context") or {}, dict)
        ):
            log.error("authorizer %s: no principalId and policyDocument in %r", spec.name, output)
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, None)
        _context_strings(output.get("context") or {})
        return output
