"""Sync operations: start (sync or rollback), progress on reads or after a delay, finish, terminate."""

from __future__ import annotations

from typing import Any

from .errors import invalid, precondition
from .state import Caller, Obj, Operation, State, now_iso

__all__ = ["advance", "degrade", "rollback", "sync", "terminate"]

IN_PROGRESS = "another operation is already in progress"


def _source(app: Obj) -> Obj:
    source = app["spec"].get("source")
    return dict(source) if isinstance(source, dict) else {}


def _start(state: State, caller: Caller, app: Obj, revision: str, *, prune: bool, verb: str) -> None:
    name = app["metadata"]["name"]
    if name in state.operations:
        raise precondition(IN_PROGRESS)
    op = Operation(revision, state.clock(), caller.username, fail_message=state.fail_next.pop(name, None))
    state.operations[name] = op
    operation = {"sync": {"revision": revision, "prune": prune}, "initiatedBy": {"username": caller.username}}
    app["operation"] = operation
    app["status"]["operationState"] = {
        "operation": state.copy(operation),
        "phase": "Running",
        "message": "one or more tasks are running",
        "startedAt": now_iso(),
    }
    app["status"]["health"] = {"status": "Progressing"}
    state.stamp(app, created=False)
    state.event(app, "OperationStarted", f"{caller.username} initiated {verb} to {revision}")


def sync(state: State, caller: Caller, app: Obj, body: dict[str, Any]) -> Obj:
    """``POST .../sync`` with ``{revision, prune, dryRun}``; a dry run changes nothing."""
    with state.lock:
        revision = str(body.get("revision") or _source(app).get("targetRevision") or "HEAD")
        if body.get("dryRun"):
            if app["metadata"]["name"] in state.operations:
                raise precondition(IN_PROGRESS)
            return state.copy(app)
        _start(state, caller, app, revision, prune=bool(body.get("prune")), verb="sync")
        return state.copy(app)


def rollback(state: State, caller: Caller, app: Obj, body: dict[str, Any]) -> Obj:
    """``POST .../rollback`` with ``{id, prune, dryRun}``: re-deploy a history entry's revision."""
    with state.lock:
        name = app["metadata"]["name"]
        if (app["spec"].get("syncPolicy") or {}).get("automated") is not None:
            raise precondition("rollback cannot be initiated when auto-sync is enabled")
        try:
            wanted = int(body["id"])
        except (KeyError, TypeError, ValueError):
            raise invalid("rollback id is required") from None
        entry = next((h for h in app["status"]["history"] if h.get("id") == wanted), None)
        if entry is None:
            raise invalid(f"application {name} does not have deployment with id {wanted}")
        if body.get("dryRun"):
            if name in state.operations:
                raise precondition(IN_PROGRESS)
            return state.copy(app)
        _start(state, caller, app, str(entry["revision"]), prune=bool(body.get("prune")), verb="rollback")
        return state.copy(app)


def terminate(state: State, app: Obj) -> None:
    """``DELETE .../operation``: Terminating now, Failed on the next read."""
    with state.lock:
        op = state.operations.get(app["metadata"]["name"])
        if op is None:
            raise precondition("Unable to terminate operation. No operation is in progress")
        op.terminating = True
        app["status"]["operationState"].update(phase="Terminating", message="Operation is terminating")
        state.stamp(app, created=False)


def degrade(state: State, name: str, message: str) -> None:
    """Health Degraded: at the end of the running (or next) sync, or now if the app is deployed and idle."""
    with state.lock:
        app = state.apps[name]
        if name not in state.operations and app["status"]["history"]:
            app["status"]["health"] = {"status": "Degraded", "message": message}
            state.stamp(app, created=False)
            state.event(app, "ResourceHealthChanged", f"health status changed to Degraded: {message}", warning=True)
        else:
            state.degraded[name] = message


def advance(state: State, name: str, *, poll: bool) -> None:
    """Finish the app's operation if it has run long enough (``sync_polls`` reads, else ``sync_duration``)."""
    with state.lock:
        op = state.operations.get(name)
        if op is None:
            return
        if poll:
            op.polls += 1
        if op.terminating:
            if poll:
                _finish(state, name, op)
            return
        if state.sync_polls is not None:
            done = op.polls >= state.sync_polls
        else:
            done = state.clock() - op.started >= state.sync_duration
        if done:
            _finish(state, name, op)


def _finish(state: State, name: str, op: Operation) -> None:
    app = state.apps[name]
    del state.operations[name]
    app.pop("operation", None)
    status = app["status"]
    op_state = status["operationState"]
    op_state["finishedAt"] = now_iso()
    if op.terminating:
        op_state.update(phase="Failed", message="Operation terminated")
        status["health"] = {"status": "Unknown" if not status["history"] else "Degraded"}
        state.event(app, "OperationCompleted", f"Sync operation to {op.revision} failed: terminated", warning=True)
    elif op.fail_message is not None:
        op_state.update(phase="Failed", message=op.fail_message)
        status["sync"]["status"] = "OutOfSync"
        status["health"] = {"status": "Degraded", "message": op.fail_message}
        state.event(
            app, "OperationCompleted", f"Sync operation to {op.revision} failed: {op.fail_message}", warning=True
        )
    else:
        source = _source(app)
        op_state.update(phase="Succeeded", message="successfully synced (all tasks run)")
        op_state["syncResult"] = {"revision": op.revision, "source": source, "resources": []}
        status["sync"] = {"status": "Synced", "revision": op.revision, "comparedTo": {"source": source}}
        degraded = state.degraded.pop(name, None)
        status["health"] = (
            {"status": "Degraded", "message": degraded} if degraded is not None else {"status": "Healthy"}
        )
        history = status["history"]
        history.append(
            {
                "id": (history[-1]["id"] + 1) if history else 0,
                "revision": op.revision,
                "deployStartedAt": op_state["startedAt"],
                "deployedAt": op_state["finishedAt"],
                "initiatedBy": {"username": op.initiated_by},
                "source": source,
            }
        )
        state.event(app, "OperationCompleted", f"Sync operation to {op.revision} succeeded")
        if degraded is not None:
            state.event(app, "ResourceHealthChanged", f"health status changed to Degraded: {degraded}", warning=True)
    status["reconciledAt"] = op_state["finishedAt"]
    state.stamp(app, created=False)
