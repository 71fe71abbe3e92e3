"""The WSGI application: authentication, routing, discovery, verbs, and the ``/_emulator/`` controls."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from .errors import ApiError, bad_request, method_not_allowed, unauthorized, unsupported_media_type
from .faults import Fault, FaultBook
from .identity import ADMIN_USER, ANONYMOUS_USER, review, token_request, token_user
from .resources import ResourceType
from .store import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, Store

__all__ = ["KubeApp"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

VERSION: Obj = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH]


@dataclass(frozen=True)
class Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _json(body: Any, code: int = 200) -> Response:
    return Response(json.dumps(body), status=code, mimetype="application/json")


def _page_not_found() -> Response:
    return Response("404 page not found\n", status=404, mimetype="text/plain")


class KubeApp:
    def __init__(self, store: Store, faults: FaultBook, admin_token: str | None) -> None:
        self.store = store
        self.faults = faults
        self.admin_token = admin_token

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        try:
            control = request.path.startswith("/_emulator/")
            response = self._control(request) if control else self._api(request)
        except ApiError as exc:
            response = _json(exc.status(), exc.code)
        except Exception as exc:  # an emulator bug: answer like the API server's 500s, and say so
            log.exception("kubernetes emulator failed on %s %s", request.method, request.path)
            response = _json(ApiError(500, f"Internal error occurred: {exc!r}").status(), 500)
        return response(environ, start_response)

    # authentication -------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> Obj:
        """Admin token or a live issued token; with no admin token set, anything but a dead issued one."""
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        token = credential.strip() if scheme.lower() == "bearer" else ""
        if token:
            if self.admin_token is not None and hmac.compare_digest(token.encode(), self.admin_token.encode()):
                return ADMIN_USER
            issued, user = token_user(self.store, token)
            if user is not None:
                return user
            if issued or self.admin_token is not None:
                raise unauthorized()
            return ADMIN_USER
        if self.admin_token is not None:
            raise unauthorized()
        return ANONYMOUS_USER

    # routing --------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        user = self._authenticate(request)
        parts = [p for p in request.path.split("/") if p]
        if parts in (["healthz"], ["livez"], ["readyz"]):
            self._fault(request, None, None)
            return Response("ok", mimetype="text/plain")
        with self.store.lock:
            document = self._discovery(request, parts)
            route = None if document is not None else self._route(parts)
        if document is None and route is None:
            return _page_not_found()
        self._fault(request, route.rt.plural if route else None, route.subresource if route else None)
        if document is not None:
            return _json(document)
        assert route is not None
        code, body = self._handle(request, route, user)
        return _json(body, code)

    def _fault(self, request: Request, plural: str | None, subresource: str | None) -> None:
        error = self.faults.take(request.method, plural, subresource)
        if error is not None:
            raise error

    def _discovery(self, request: Request, parts: list[str]) -> Obj | None:
        registry = self.store.registry
        if parts == ["version"]:
            return VERSION
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
            }
        if parts == ["api", "v1"]:
            return registry.api_resource_list("", "v1")
        if parts == ["apis"]:
            return registry.api_group_list()
        if len(parts) == 2 and parts[0] == "apis":
            return registry.api_group(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return registry.api_resource_list(parts[1], parts[2])
        return None

    def _route(self, parts: list[str]) -> Route | None:
        if len(parts) > 2 and parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) > 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        namespace_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
        if len(rest) >= 3 and rest[0] == "namespaces" and not namespace_subresource:
            namespace, rest = rest[1], rest[2:]
        if not 1 <= len(rest) <= 3:
            return None
        rt = self.store.registry.lookup(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            return None
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if rt.namespaced and namespace is None and name is not None:
            return None
        if subresource is not None and not (
            (subresource == "status" and rt.status) or (subresource == "token" and rt.key == ("", "serviceaccounts"))
        ):
            return None
        return Route(rt, namespace, name, subresource)

    # verbs ----------------------------------------------------------------------------------
    @staticmethod
    def _body(request: Request, *, required: bool = True) -> Any:
        data = request.get_data()
        if not data.strip():
            if required:
                raise bad_request("the body of the request was empty")
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise bad_request(
                "the body of the request was in an unknown format - accepted media types include: application/json"
            ) from exc

    def _handle(self, request: Request, route: Route, user: Obj) -> tuple[int, Obj]:
        rt, namespace, name, sub = route.rt, route.namespace, route.name, route.subresource
        store, method, query = self.store, request.method, request.args
        dry_run = "All" in query.getlist("dryRun")
        if query.get("watch") in ("true", "1"):
            raise bad_request("watch is not supported by the Kubernetes emulator")
        if rt.virtual:
            if name is None and method == "POST":
                return 201, review(store, rt, self._body(request), user, self.admin_token)
            raise method_not_allowed()
        if sub == "token":
            if method == "POST":
                assert namespace is not None and name is not None
                return 201, token_request(store, namespace, name, self._body(request), dry_run=dry_run)
            raise method_not_allowed()
        labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
        if name is None:
            if method == "GET":
                try:
                    limit = int(query.get("limit") or 0)
                except ValueError as exc:
                    raise bad_request(f"invalid limit: {query.get('limit')}") from exc
                listed = store.list(
                    rt,
                    namespace,
                    label_selector=labels,
                    field_selector=fields,
                    limit=limit,
                    continue_token=query.get("continue", ""),
                )
                return 200, listed
            if rt.namespaced and namespace is None:  # the all-namespaces path only lists
                raise method_not_allowed()
            if method == "POST":
                return 201, store.create(rt, namespace, self._body(request), dry_run=dry_run)
            if method == "DELETE":
                return 200, store.delete_collection(
                    rt, namespace, label_selector=labels, field_selector=fields, dry_run=dry_run
                )
            raise method_not_allowed()
        if method == "GET":
            return 200, store.get(rt, namespace, name)
        if method == "PUT":
            return 200, store.replace(rt, namespace, name, self._body(request), subresource=sub, dry_run=dry_run)
        if method == "PATCH":
            if request.mimetype not in _PATCH_TYPES:
                raise unsupported_media_type(request.mimetype, _PATCH_TYPES)
            return 200, store.patch(
                rt, namespace, name, self._body(request), request.mimetype, subresource=sub, dry_run=dry_run
            )
        if method == "DELETE" and sub is None:
            return 200, store.delete(rt, namespace, name, self._body(request, required=False), dry_run=dry_run)
        raise method_not_allowed()

    # /_emulator/ controls -------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        what, method = request.path.removeprefix("/_emulator/").strip("/"), request.method
        try:
            if what == "reset" and method == "POST":
                self.reset()
                return _json({"status": "ok"})
            if what == "faults" and method == "GET":
                return _json([f.as_dict() for f in self.faults.pending()])
            if what == "faults" and method == "POST":
                spec = request.get_json(force=True, silent=True)
                if not isinstance(spec, dict):
                    raise ValueError("expected a JSON object {method, resource, status, count, message}")
                self.faults.add(
                    Fault(
                        method=spec.get("method"),
                        resource=spec.get("resource"),
                        status=int(spec.get("status", 503)),
                        count=int(spec.get("count", 1)),
                        message=str(spec.get("message", "injected failure")),
                    )
                )
                return _json({"status": "ok"}, 201)
            if what == "faults" and method == "DELETE":
                self.faults.clear()
                return _json({"status": "ok"})
            if what == "objects" and method == "GET":
                resource = request.args.get("resource")
                if not resource:
                    raise ValueError("the resource query parameter is required")
                return _json(self.store.objects(resource, request.args.get("namespace") or None))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"error": f"no emulator control {method} /_emulator/{what}"}, 404)

    def reset(self) -> None:
        self.faults.clear()
        self.store.reset()
