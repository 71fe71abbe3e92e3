"""Reads what the local gateway needs from the SAM template: no second route table.

Functions (CodeUri, Handler, memory, timeout, environment), each `Type: Api` event (method,
path, API, authorizer, AWS_IAM or public), and each API's Lambda authorizers, stage, throttling
and gateway responses. `Globals` apply the way SAM applies them; `!Ref` to a parameter takes its
default unless overridden.

An environment variable whose value exists only on AWS (a `!Ref` to a parameter without a
default or value, to a resource, a `!GetAtt`, a `!Sub` of either, any other intrinsic) is left
out of the function's environment: the local runner's own settings stand in for it
(lambda_runtime.function_variables).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "ApiModel",
    "ApiSpec",
    "AuthorizerSpec",
    "FunctionSpec",
    "GatewayResponseSpec",
    "RouteSpec",
    "load_template",
]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
IMPLICIT_API = "ServerlessRestApi"  # SAM's API for events without RestApiId
_IMPLICIT_STAGE = "Prod"
_SAM_DEFAULT_REAUTHORIZE = 300  # SAM's default for Identity.ReauthorizeEvery
_SUB_NAME = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str  # "module.function", the module a path relative to code_uri
    memory_mb: int = 128
    timeout_s: int = 3
    # Template Environment (Globals merged), as far as it resolves locally (see the module doc).
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        base = self.code_uri.joinpath(*module.split("."))
        return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")

    @property
    def handler_function(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class RouteSpec:
    method: str  # upper case; ANY matches every method
    path: str  # the API resource, e.g. /tenants/{tenant}
    function: str  # logical id of the function
    event: str  # logical id of the event
    authorizer: str | None  # None: public (no authorizer), or AWS_IAM when `iam`
    iam: bool = False  # Authorizer: AWS_IAM (API Gateway checks a SigV4 signature)


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function: str  # logical id of the authorizer function
    payload_type: Literal["TOKEN", "REQUEST"]
    headers: tuple[str, ...] = ()
    query_strings: tuple[str, ...] = ()
    reauthorize_every: int = _SAM_DEFAULT_REAUTHORIZE
    validation_expression: str | None = None  # TOKEN only


@dataclass(frozen=True)
class GatewayResponseSpec:
    status_code: int | None = None
    templates: Mapping[str, str] = field(default_factory=dict)  # content type -> body template
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> mapping expression


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage: str
    routes: tuple[RouteSpec, ...] = ()
    authorizers: Mapping[str, AuthorizerSpec] = field(default_factory=dict)
    # (resource path, METHOD) -> (rate per second, burst) of that method; ("/*", "*") is every
    # method's (API Gateway gives each method its own bucket of these sizes, not one per stage).
    throttling: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    gateway_responses: Mapping[str, GatewayResponseSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiModel:
    path: Path
    functions: Mapping[str, FunctionSpec]
    apis: Mapping[str, ApiSpec]

    def api(self, logical_id: str | None = None) -> ApiSpec:
        """The API with that logical id, or the only one the template has."""
        if logical_id is not None:
            return self.apis[logical_id]
        if len(self.apis) != 1:
            raise ValueError(f"{self.path}: {len(self.apis)} APIs ({', '.join(self.apis)}); name one")
        return next(iter(self.apis.values()))


class _Resolver:
    """Resolves the few intrinsics the gateway needs, from parameter values."""

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }
        self.parameters = set((template.get("Parameters") or {}).keys())
        for name, spec in (template.get("Parameters") or {}).items():
            if isinstance(spec, Mapping) and "Default" in spec:
                self.values[name] = spec["Default"]
        self.values.update(overrides)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if str(arg) in self.values:
                    return self.values[str(arg)]
                return None if str(arg) in self.parameters else str(arg)  # a resource's Ref: its logical id
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return {"GetAtt": [str(p) for p in parts]}
            if key == "Fn::Sub" and isinstance(arg, str):
                return self._sub(arg)
        return value

    def _sub(self, text: str) -> str:
        return re.sub(_SUB_NAME, lambda m: str(self.values.get(m.group(1), m.group(1))), text)

    def variable(self, value: Any) -> str | None:
        """An environment variable's value, or None when it exists only on AWS."""
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and self.values.get(str(arg)) is not None:
                return str(self.values[str(arg)])
            if key == "Fn::Sub" and isinstance(arg, str) and all(n in self.values for n in _SUB_NAME.findall(arg)):
                return self._sub(arg)
        return None


def _merge_globals(globals_: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's rule: maps merge (the resource wins), lists concatenate, scalars are replaced."""
    merged = dict(globals_)
    for key, value in props.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = value
    return merged


def _function_arn_target(value: Any) -> str:
    if isinstance(value, Mapping) and "GetAtt" in value:
        return str(value["GetAtt"][0])
    if isinstance(value, str) and ":function:" not in value:
        return value  # a Ref to the function
    raise ValueError(f"unsupported authorizer FunctionArn {value!r}: use !GetAtt <Function>.Arn")


def _authorizers(auth: Mapping[str, Any], resolve: _Resolver) -> dict[str, AuthorizerSpec]:
    found: dict[str, AuthorizerSpec] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "FunctionArn" not in spec:
            continue  # Cognito and IAM authorizers are not emulated
        payload = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        identity = spec.get("Identity") or {}
        if payload == "REQUEST":
            headers = tuple(str(h) for h in identity.get("Headers", []))
            queries = tuple(str(q) for q in identity.get("QueryStrings", []))
            expression = None
        elif payload == "TOKEN":
            headers, queries = (str(identity.get("Header", "Authorization")),), ()
            expression = identity.get("ValidationExpression")
        else:
            raise ValueError(f"authorizer {name}: unknown FunctionPayloadType {payload}")
        found[name] = AuthorizerSpec(
            name=name,
            function=_function_arn_target(resolve(spec["FunctionArn"])),
            payload_type="REQUEST" if payload == "REQUEST" else "TOKEN",
            headers=headers,
            query_strings=queries,
            reauthorize_every=int(resolve(identity.get("ReauthorizeEvery", _SAM_DEFAULT_REAUTHORIZE))),
            validation_expression=str(expression) if expression else None,
        )
    return found


def _throttling(settings: list[Any], resolve: _Resolver) -> dict[tuple[str, str], tuple[float, float]]:
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for setting in settings:
        rate, burst = setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit")
        if rate is None and burst is None:
            continue
        # CloudFormation writes /a/b as /~1a~1b; "/*" with "*" is every method of the stage.
        path = str(resolve(setting.get("ResourcePath", "/*")))
        path = path if path == "/*" else "/" + path.lstrip("/").replace("~1", "/").lstrip("/")
        method = str(resolve(setting.get("HttpMethod", "*"))).upper()
        # An unset limit is the account's (10,000 rps, burst 5,000).
        found[(path, method)] = (
            float(resolve(rate)) if rate is not None else 10_000.0,
            float(resolve(burst)) if burst is not None else 5_000.0,
        )
    return found


def _gateway_responses(responses: Mapping[str, Any], resolve: _Resolver) -> dict[str, GatewayResponseSpec]:
    found: dict[str, GatewayResponseSpec] = {}
    for response_type, spec in responses.items():
        status = resolve(spec.get("StatusCode"))
        params = (spec.get("ResponseParameters") or {}).get("Headers") or {}
        found[str(response_type)] = GatewayResponseSpec(
            status_code=int(status) if status is not None else None,
            templates={str(k): str(resolve(v)) for k, v in (spec.get("ResponseTemplates") or {}).items()},
            headers={str(k): str(resolve(v)) for k, v in params.items()},
        )
    return found


def _plain(value: Any) -> Any:
    """cfn_yaml nodes as plain dicts, lists and scalars."""
    return json.loads(json.dumps(value, default=str))


def load_template(path: Path | str, parameters: Mapping[str, Any] | None = None) -> ApiModel:
    """The functions and APIs of a SAM template, for the local gateway."""
    from cfnlint.decode import cfn_yaml

    path = Path(path).resolve()
    template: dict[str, Any] = _plain(cfn_yaml.load(str(path)))
    resolve = _Resolver(template, parameters or {})
    globals_ = template.get("Globals") or {}
    resources: dict[str, Any] = template.get("Resources") or {}

    functions: dict[str, FunctionSpec] = {}
    routes: dict[str, list[RouteSpec]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = _merge_globals(globals_.get("Function") or {}, resource.get("Properties") or {})
        code_uri, handler = props.get("CodeUri"), props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            continue  # inline code, images and S3 code cannot run here
        declared = (props.get("Environment") or {}).get("Variables") or {}
        variables = {name: resolve.variable(value) for name, value in declared.items()}
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=(path.parent / code_uri).resolve(),
            handler=handler,
            memory_mb=int(resolve(props.get("MemorySize", 128))),
            timeout_s=int(resolve(props.get("Timeout", 3))),
            environment={k: v for k, v in variables.items() if v is not None},
        )
        for event_id, event in (props.get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            eprops = event.get("Properties") or {}
            api_id = str(resolve(eprops["RestApiId"])) if "RestApiId" in eprops else IMPLICIT_API
            authorizer = (eprops.get("Auth") or {}).get("Authorizer", "")
            routes.setdefault(api_id, []).append(
                RouteSpec(
                    method=str(eprops["Method"]).upper(),
                    path=str(eprops["Path"]),
                    function=logical_id,
                    event=event_id,
                    authorizer=str(authorizer) if authorizer else "",  # "": the API's default
                )
            )

    api_resources = {k: v for k, v in resources.items() if v.get("Type") == "AWS::Serverless::Api"}
    if IMPLICIT_API in routes and IMPLICIT_API not in api_resources:
        api_resources[IMPLICIT_API] = {"Properties": {"StageName": _IMPLICIT_STAGE}}
    apis: dict[str, ApiSpec] = {}
    for api_id, resource in api_resources.items():
        props = _merge_globals(globals_.get("Api") or {}, resource.get("Properties") or {})
        auth = props.get("Auth") or {}
        authorizers = _authorizers(auth, resolve)
        default = auth.get("DefaultAuthorizer")
        api_routes = []
        for route in routes.get(api_id, []):
            name = route.authorizer or default
            iam = name == "AWS_IAM"
            if name == "NONE" or not name or iam:
                name = None
            elif name not in authorizers:
                raise ValueError(f"{route.function}.{route.event}: no Lambda authorizer {name} on {api_id}")
            api_routes.append(RouteSpec(route.method, route.path, route.function, route.event, name, iam))
        apis[api_id] = ApiSpec(
            logical_id=api_id,
            stage=str(resolve(props.get("StageName", _IMPLICIT_STAGE))),
            routes=tuple(api_routes),
            authorizers=authorizers,
            throttling=_throttling(props.get("MethodSettings") or [], resolve),
            gateway_responses=_gateway_responses(props.get("GatewayResponses") or {}, resolve),
        )
    for authorizer_spec in (a for api in apis.values() for a in api.authorizers.values()):
        if authorizer_spec.function not in functions:
            raise ValueError(f"authorizer {authorizer_spec.name}: no local function {authorizer_spec.function}")
    return ApiModel(path=path, functions=functions, apis=apis)
