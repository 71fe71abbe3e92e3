"""AppProjects: create/upsert, read, update, delete, and project role tokens."""

from __future__ import annotations

import secrets
import time
from typing import Any

from .errors import ArgoError, already_exists, invalid, not_found, permission_denied, precondition
from .state import Caller, Obj, State

__all__ = ["create", "delete", "get", "issue_token", "listing", "update"]


def _require_admin(caller: Caller, action: str, name: str) -> None:
    if caller.project is not None:
        raise permission_denied(f"projects, {action}, {name}, sub: {caller.username}")


def _name_of(project: Any) -> str:
    if not isinstance(project, dict) or not isinstance(project.get("metadata"), dict):
        raise invalid("project.metadata is required")
    name = project["metadata"].get("name")
    if not isinstance(name, str) or not name:
        raise invalid("project.metadata.name is required")
    return name


def _clean(project: Obj) -> Obj:
    spec = project.get("spec")
    return {"metadata": dict(project["metadata"]), "spec": dict(spec) if isinstance(spec, dict) else {}, "status": {}}


def create(state: State, caller: Caller, body: Obj) -> Obj:
    """``POST /api/v1/projects`` with ``{"project": ..., "upsert": bool}``."""
    project = body.get("project")
    name = _name_of(project)
    _require_admin(caller, "create", name)
    assert isinstance(project, dict)
    with state.lock:
        live = state.projects.get(name)
        wanted = _clean(project)
        if live is not None:
            if live.get("spec") == wanted["spec"]:
                return state.copy(live)
            if not body.get("upsert"):
                raise already_exists("existing project spec is different; use upsert flag to force update")
            live["spec"] = wanted["spec"]
            live["metadata"]["labels"] = wanted["metadata"].get("labels") or {}
            state.stamp(live, created=False)
            return state.copy(live)
        wanted["metadata"].pop("resourceVersion", None)
        state.stamp(wanted)
        state.projects[name] = wanted
        return state.copy(wanted)


def get(state: State, caller: Caller, name: str) -> Obj:
    if caller.project not in (None, name):
        raise permission_denied(f"projects, get, {name}, sub: {caller.username}")
    with state.lock:
        live = state.projects.get(name)
        if live is None:
            raise not_found("appprojects", name)
        return state.copy(live)


def listing(state: State, caller: Caller) -> Obj:
    with state.lock:
        items = [state.copy(p) for n, p in sorted(state.projects.items()) if caller.may_see(n)]
    return {"metadata": {}, "items": items}


def update(state: State, caller: Caller, name: str, body: Obj) -> Obj:
    """``PUT /api/v1/projects/{name}`` with ``{"project": ...}``: the project must exist."""
    project = body.get("project")
    if _name_of(project) != name:
        raise invalid(f"project name in the body does not match '{name}'")
    _require_admin(caller, "update", name)
    assert isinstance(project, dict)
    with state.lock:
        live = state.projects.get(name)
        if live is None:
            raise not_found("appprojects", name)
        wanted = _clean(project)
        live["spec"] = wanted["spec"]
        live["metadata"]["labels"] = wanted["metadata"].get("labels") or {}
        state.stamp(live, created=False)
        return state.copy(live)


def delete(state: State, caller: Caller, name: str) -> None:
    _require_admin(caller, "delete", name)
    with state.lock:
        if name not in state.projects:
            raise not_found("appprojects", name)
        users = [a for a in state.apps.values() if a["spec"].get("project") == name]
        if users:
            raise precondition(f"project is referenced by {len(users)} applications")
        del state.projects[name]
        for token, holder in list(state.tokens.items()):
            if holder.project == name:
                del state.tokens[token]


def issue_token(state: State, caller: Caller, project: str, role: str) -> str:
    """``POST /api/v1/projects/{p}/roles/{r}/token``: a bearer token that acts as ``proj:<p>:<r>``."""
    _require_admin(caller, "update", project)
    with state.lock:
        live = state.projects.get(project)
        if live is None:
            raise not_found("appprojects", project)
        roles = live["spec"].get("roles") or []
        entry = next((r for r in roles if isinstance(r, dict) and r.get("name") == role), None)
        if entry is None:
            raise ArgoError(404, f"role '{role}' does not exist in project '{project}'")
        token = f"argocd-proj-{secrets.token_urlsafe(24)}"
        state.tokens[token] = Caller(f"proj:{project}:{role}", project)
        entry.setdefault("jwtTokens", []).append({"iat": int(time.time()), "id": secrets.token_hex(8)})
        state.stamp(live, created=False)
        return token
