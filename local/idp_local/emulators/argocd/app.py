"""The WSGI application: bearer-token auth, routing of ``/api/v1/...``, fault injection, ``/_emulator/`` controls."""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from . import applications, operations, projects
from .errors import ArgoError, invalid, not_found, unauthenticated
from .state import ADMIN, Caller, Obj, State

__all__ = ["ArgoApp", "Fault"]

log = logging.getLogger(__name__)

_APP = re.compile(r"^/api/v1/applications/([^/]+)(?:/(sync|rollback|operation|resource-tree|events))?$")
_PROJECT = re.compile(r"^/api/v1/projects/([^/]+)$")
_PROJECT_TOKEN = re.compile(r"^/api/v1/projects/([^/]+)/roles/([^/]+)/token$")
_CONTROL_APP = re.compile(r"^/_emulator/apps/([^/]+)/(fail-next-sync|degrade)$")


@dataclass
class Fault:
    """The next ``count`` requests matching ``method`` and a path starting with ``path`` answer ``status``."""

    method: str | None
    path: str | None
    status: int
    count: int
    message: str


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _body(request: Request) -> Obj:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise invalid("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    return body


class ArgoApp:
    def __init__(self, state: State, admin_token: str) -> None:
        self.state = state
        self.admin_token = admin_token
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        try:
            if request.path.startswith("/_emulator/"):
                response = self._control(request)
            else:
                self._inject(request)
                response = self._api(request)
        except ArgoError as exc:
            response = _json(exc.body(), exc.status)
        except Exception as exc:  # an emulator bug: answer 500 in Argo's shape, and log it
            log.exception("argocd emulator failed on %s %s", request.method, request.path)
            error = ArgoError(500, f"internal error: {exc!r}")
            response = _json(error.body(), 500)
        return response(environ, start_response)

    # faults ---------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        if not 400 <= fault.status <= 599 or fault.count < 1:
            raise ValueError("a fault needs an HTTP error status (400-599) and a count of at least 1")
        with self._faults_lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _inject(self, request: Request) -> None:
        with self._faults_lock:
            for fault in self._faults:
                if fault.method not in (None, request.method.upper()):
                    continue
                if fault.path is not None and not request.path.startswith(fault.path):
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                raise ArgoError(fault.status, fault.message)

    # authentication -------------------------------------------------------------------------
    def _caller(self, request: Request) -> Caller:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        token = credential.strip() if scheme.lower() == "bearer" else ""
        if not token:
            token = request.cookies.get("argocd.token", "")
        if not token:
            raise unauthenticated("no session information")
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        with self.state.lock:
            caller = self.state.tokens.get(token)
        if caller is None:
            raise unauthenticated()
        return caller

    def _session(self, request: Request) -> Response:
        body = _body(request)
        if body.get("username") != "admin" or body.get("password") != "admin":
            raise unauthenticated("Invalid username or password")
        token = f"argocd-session-{secrets.token_urlsafe(24)}"
        with self.state.lock:
            self.state.tokens[token] = ADMIN
        return _json({"token": token})

    # the API --------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        path, method, state = request.path.rstrip("/"), request.method.upper(), self.state
        if path == "/api/v1/session" and method == "POST":
            return self._session(request)
        if path == "/api/version":
            return _json({"Version": "v2.13.0+emulator"})
        caller = self._caller(request)
        project = request.args.get("project") or None
        if path == "/api/v1/applications":
            if method == "GET":
                return _json(applications.listing(state, caller, project=project))
            if method == "POST":
                upsert = request.args.get("upsert", "").lower() == "true"
                return _json(applications.create(state, caller, _body(request), upsert=upsert))
        if match := _APP.match(path):
            return self._application(request, caller, match.group(1), match.group(2), project)
        if path == "/api/v1/projects":
            if method == "GET":
                return _json(projects.listing(state, caller))
            if method == "POST":
                return _json(projects.create(state, caller, _body(request)))
        if match := _PROJECT.match(path):
            name = match.group(1)
            if method == "GET":
                return _json(projects.get(state, caller, name))
            if method == "PUT":
                return _json(projects.update(state, caller, name, _body(request)))
            if method == "DELETE":
                projects.delete(state, caller, name)
                return _json({})
        if (match := _PROJECT_TOKEN.match(path)) and method == "POST":
            return _json({"token": projects.issue_token(state, caller, match.group(1), match.group(2))})
        raise ArgoError(404, f"Not Found: {method} {path}")

    def _application(
        self, request: Request, caller: Caller, name: str, sub: str | None, project: str | None
    ) -> Response:
        method, state = request.method.upper(), self.state
        if sub is None:
            if method == "GET":
                return _json(applications.get(state, caller, name, project=project))
            if method == "PUT":
                return _json(applications.update(state, caller, name, _body(request)))
            if method == "DELETE":
                applications.delete(state, caller, name, project=project)
                return _json({})
        elif sub == "resource-tree" and method == "GET":
            return _json(applications.resource_tree(state, caller, name, project=project))
        elif sub == "events" and method == "GET":
            return _json(applications.events(state, caller, name, project=project))
        elif sub in ("sync", "rollback") and method == "POST":
            body = _body(request)
            with state.lock:
                app = applications.lookup(state, caller, name, sub, project)
                operations.advance(state, name, poll=False)
                run = operations.sync if sub == "sync" else operations.rollback
                return _json(run(state, caller, app, body))
        elif sub == "operation" and method == "DELETE":
            with state.lock:
                app = applications.lookup(state, caller, name, "sync", project)
                operations.advance(state, name, poll=False)
                operations.terminate(state, app)
            return _json({})
        raise ArgoError(404, f"Not Found: {method} {request.path}")

    # test controls --------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        path, method, state = request.path.rstrip("/"), request.method.upper(), self.state
        if path == "/_emulator/reset" and method == "POST":
            state.reset()
            self.clear_faults()
            return _json({})
        if path == "/_emulator/apps" and method == "GET":
            with state.lock:
                for name in list(state.apps):
                    operations.advance(state, name, poll=False)
                return _json({"items": [state.copy(a) for _, a in sorted(state.apps.items())]})
        if path == "/_emulator/projects" and method == "GET":
            with state.lock:
                return _json({"items": [state.copy(p) for _, p in sorted(state.projects.items())]})
        if (match := _CONTROL_APP.match(path)) and method == "POST":
            name, message = match.group(1), str(_body(request).get("message") or "")
            with state.lock:
                if name not in state.apps:
                    raise not_found("applications", name)
                if match.group(2) == "fail-next-sync":
                    state.fail_next[name] = message or "one or more objects failed to apply"
                else:
                    operations.degrade(state, name, message or "Deployment exceeded its progress deadline")
            return _json({})
        if path == "/_emulator/faults" and method == "POST":
            body = _body(request)
            self.add_fault(
                Fault(
                    body.get("method"),
                    body.get("path"),
                    int(body.get("status", 503)),
                    int(body.get("count", 1)),
                    str(body.get("message") or "injected failure"),
                )
            )
            return _json({})
        raise ArgoError(404, f"Not Found: {method} {path}")
