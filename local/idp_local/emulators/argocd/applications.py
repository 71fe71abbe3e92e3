"""Applications: validation against their AppProject, CRUD, the resource tree and events."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from . import operations
from .errors import already_exists, invalid, not_found, permission_denied
from .state import Caller, Obj, State, now_iso

__all__ = ["create", "delete", "events", "get", "listing", "lookup", "resource_tree", "update", "validate"]


def _denied(caller: Caller, action: str, project: str, name: str) -> Exception:
    return permission_denied(f"applications, {action}, {project}/{name}, sub: {caller.username}")


def _name_of(app: Any) -> str:
    if not isinstance(app, dict) or not isinstance(app.get("metadata"), dict):
        raise invalid("application.metadata is required")
    name = app["metadata"].get("name")
    if not isinstance(name, str) or not name:
        raise invalid("application.metadata.name is required")
    if not isinstance(app.get("spec"), dict):
        raise invalid("application.spec is required")
    return name


def validate(state: State, app: Obj) -> None:
    """What Argo CD checks on create/update: the project exists and allows the repo and destination."""
    spec = app["spec"]
    project_name = spec.get("project") or ""
    if not project_name:
        raise invalid("application.spec.project is required")
    project = state.projects.get(project_name)
    if project is None:
        raise invalid(f"application references project {project_name} which does not exist")
    source = spec.get("source") if isinstance(spec.get("source"), dict) else {}
    repo = str(source.get("repoURL") or "")
    if not repo:
        raise invalid("application spec is invalid: InvalidSpecError: spec.source.repoURL is required")
    patterns = project["spec"].get("sourceRepos") or []
    if not any(fnmatchcase(repo.rstrip("/"), str(p).rstrip("/")) for p in patterns):
        raise invalid(
            f"application spec for {app['metadata']['name']} is invalid: InvalidSpecError: "
            f"application repo {repo} is not permitted in project '{project_name}'"
        )
    destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    server = str(destination.get("server") or "")
    dest_name = str(destination.get("name") or "")
    namespace = str(destination.get("namespace") or "")
    if not server and not dest_name:
        raise invalid("application spec is invalid: InvalidSpecError: Destination server missing from app spec")
    for allowed in project["spec"].get("destinations") or []:
        if not isinstance(allowed, dict):
            continue
        target_ok = (server and fnmatchcase(server, str(allowed.get("server") or ""))) or (
            dest_name and fnmatchcase(dest_name, str(allowed.get("name") or ""))
        )
        if target_ok and fnmatchcase(namespace, str(allowed.get("namespace") or "")):
            return
    raise invalid(
        f"application spec for {app['metadata']['name']} is invalid: InvalidSpecError: application destination "
        f"server '{server or dest_name}' and namespace '{namespace}' do not match any of the allowed destinations "
        f"in project '{project_name}'"
    )


def _new_status() -> Obj:
    return {
        "sync": {"status": "OutOfSync", "revision": ""},
        "health": {"status": "Missing"},
        "history": [],
        "resources": [],
        "reconciledAt": now_iso(),
    }


def lookup(state: State, caller: Caller, name: str, action: str, project: str | None = None) -> Obj:
    """The live app, or 404 if missing and 403 if the caller (or ``?project=``) does not cover its project."""
    live = state.apps.get(name)
    if live is None:
        raise not_found("applications", name)
    owner = str(live["spec"].get("project") or "")
    if not caller.may_see(owner) or (project is not None and project != owner):
        raise _denied(caller, action, owner, name)
    return live


def create(state: State, caller: Caller, app: Any, *, upsert: bool) -> Obj:
    name = _name_of(app)
    project = str(app["spec"].get("project") or "")
    if not caller.may_see(project):
        raise _denied(caller, "create", project, name)
    with state.lock:
        live = state.apps.get(name)
        if live is not None:
            if not caller.may_see(str(live["spec"].get("project") or "")):
                raise _denied(caller, "update", str(live["spec"].get("project")), name)
            if live["spec"] == app["spec"]:
                return state.copy(live)
            if not upsert:
                raise already_exists("existing application spec is different, use upsert flag to force update")
            return _replace(state, caller, live, app)
        validate(state, app)
        stored: Obj = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {k: v for k, v in app["metadata"].items() if k not in ("resourceVersion", "uid")},
            "spec": state.copy(app["spec"]),
            "status": _new_status(),
        }
        state.stamp(stored)
        state.apps[name] = stored
        state.event(stored, "ResourceCreated", f"{caller.username} created application")
        return state.copy(stored)


def _replace(state: State, caller: Caller, live: Obj, app: Obj) -> Obj:
    validate(state, app)
    if live["spec"].get("source") != app["spec"].get("source") and live["status"]["sync"]["status"] == "Synced":
        live["status"]["sync"]["status"] = "OutOfSync"
    live["spec"] = state.copy(app["spec"])
    for key in ("labels", "annotations", "finalizers"):
        if key in app["metadata"]:
            live["metadata"][key] = state.copy(app["metadata"][key])
    state.stamp(live, created=False)
    state.event(live, "ResourceUpdated", f"{caller.username} updated application spec")
    return state.copy(live)


def update(state: State, caller: Caller, name: str, app: Any) -> Obj:
    if _name_of(app) != name:
        raise invalid(f"application name in the body does not match '{name}'")
    with state.lock:
        live = lookup(state, caller, name, "update")
        if not caller.may_see(str(app["spec"].get("project") or "")):
            raise _denied(caller, "update", str(app["spec"].get("project")), name)
        return _replace(state, caller, live, app)


def get(state: State, caller: Caller, name: str, *, project: str | None = None, poll: bool = True) -> Obj:
    with state.lock:
        live = lookup(state, caller, name, "get", project)
        operations.advance(state, name, poll=poll)
        return state.copy(live)


def listing(state: State, caller: Caller, *, project: str | None = None) -> Obj:
    with state.lock:
        items = []
        for name, app in sorted(state.apps.items()):
            owner = str(app["spec"].get("project") or "")
            if caller.may_see(owner) and project in (None, owner):
                operations.advance(state, name, poll=True)
                items.append(state.copy(app))
    return {"metadata": {}, "items": items}


def delete(state: State, caller: Caller, name: str, *, project: str | None = None) -> None:
    with state.lock:
        lookup(state, caller, name, "delete", project)
        del state.apps[name]
        state.operations.pop(name, None)
        state.fail_next.pop(name, None)
        state.degraded.pop(name, None)


def resource_tree(state: State, caller: Caller, name: str, *, project: str | None = None) -> Obj:
    """A minimal tree: one Deployment in the destination namespace once the app has been synced."""
    app = get(state, caller, name, project=project, poll=False)
    if not app["status"]["history"]:
        return {"nodes": [], "hosts": []}
    namespace = app["spec"].get("destination", {}).get("namespace", "")
    node = {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
        "namespace": namespace,
        "name": name,
        "uid": f"{app['metadata']['uid']}-deployment",
        "health": dict(app["status"]["health"]),
        "resourceVersion": app["metadata"]["resourceVersion"],
    }
    return {"nodes": [node], "hosts": []}


def events(state: State, caller: Caller, name: str, *, project: str | None = None) -> Obj:
    with state.lock:
        lookup(state, caller, name, "get", project)
        items = [state.copy(e) for e in state.events if e["involvedObject"]["name"] == name]
    return {"metadata": {}, "items": items}
