"""The Argo CD emulator over real HTTP: auth, projects, validation, syncs, rollbacks, controls."""

from __future__ import annotations

import time
from typing import Any

import requests

from idp_local.emulators.argocd import ArgoCdEmulator

TOKEN = "argocd-local-admin"


def call(argocd: ArgoCdEmulator, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, argocd.url + path, headers=headers, timeout=5, **kwargs)


def _project(name: str = "shop") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "sourceRepos": ["https://github.com/acme/shop-*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": f"{name}-*"}],
            "roles": [{"name": "ci", "policies": [f"p, proj:{name}:ci, applications, *, {name}/*, allow"]}],
        },
    }


def _app(name: str = "shop-dev", project: str = "shop", namespace: str = "shop-dev", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://github.com/acme/shop-deploy", "path": "dev", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            **spec,
        },
    }


def _setup(argocd: ArgoCdEmulator) -> None:
    assert call(argocd, "POST", "/api/v1/projects", json={"project": _project()}).status_code == 200
    assert call(argocd, "POST", "/api/v1/applications", json=_app()).status_code == 200


def test_auth_is_required_and_sessions_work(argocd: ArgoCdEmulator) -> None:
    answer = call(argocd, "GET", "/api/v1/applications", token=None)
    assert answer.status_code == 401 and answer.json()["code"] == 16
    assert call(argocd, "GET", "/api/v1/applications", token="nope").json()["message"].startswith("invalid session")
    bad = call(argocd, "POST", "/api/v1/session", token=None, json={"username": "admin", "password": "x"})
    assert bad.status_code == 401
    session = call(argocd, "POST", "/api/v1/session", token=None, json={"username": "admin", "password": "admin"})
    token = session.json()["token"]
    assert call(argocd, "GET", "/api/v1/applications", token=token).json() == {"metadata": {}, "items": []}


def test_projects_create_conflict_upsert_update_delete(argocd: ArgoCdEmulator) -> None:
    assert call(argocd, "POST", "/api/v1/projects", json={"project": _project()}).status_code == 200
    changed = _project()
    changed["spec"]["sourceRepos"] = ["*"]
    assert call(argocd, "POST", "/api/v1/projects", json={"project": changed}).status_code == 409
    answer = call(argocd, "POST", "/api/v1/projects", json={"project": changed, "upsert": True})
    assert answer.json()["spec"]["sourceRepos"] == ["*"]
    assert call(argocd, "PUT", "/api/v1/projects/shop", json={"project": _project()}).status_code == 200
    assert (
        call(argocd, "GET", "/api/v1/projects/shop").json()["spec"]["sourceRepos"] == _project()["spec"]["sourceRepos"]
    )
    assert call(argocd, "PUT", "/api/v1/projects/nope", json={"project": _project("nope")}).status_code == 404
    assert {p["metadata"]["name"] for p in argocd.projects()} == {"default", "shop"}
    assert call(argocd, "DELETE", "/api/v1/projects/shop").status_code == 200
    assert call(argocd, "GET", "/api/v1/projects/shop").status_code == 404


def test_application_validation_against_the_project(argocd: ArgoCdEmulator) -> None:
    call(argocd, "POST", "/api/v1/projects", json={"project": _project()})
    missing = call(argocd, "POST", "/api/v1/applications", json=_app(project="ghost")).json()
    assert missing["message"] == "application references project ghost which does not exist"
    answer = call(argocd, "POST", "/api/v1/applications", json=_app(namespace="kube-system"))
    assert answer.status_code == 400 and answer.json()["code"] == 3
    assert "do not match any of the allowed destinations in project 'shop'" in answer.json()["message"]
    repo = _app()
    repo["spec"]["source"]["repoURL"] = "https://github.com/evil/repo"
    message = call(argocd, "POST", "/api/v1/applications", json=repo).json()["message"]
    assert "application repo https://github.com/evil/repo is not permitted in project 'shop'" in message
    assert call(argocd, "POST", "/api/v1/applications", json=_app()).status_code == 200
    assert call(argocd, "POST", "/api/v1/applications", json=_app()).status_code == 200  # same spec: fine
    other = _app()
    other["spec"]["source"]["path"] = "prod"
    assert call(argocd, "POST", "/api/v1/applications", json=other).status_code == 409
    assert (
        call(argocd, "POST", "/api/v1/applications?upsert=true", json=other).json()["spec"]["source"]["path"] == "prod"
    )
    app = call(argocd, "GET", "/api/v1/applications/shop-dev?refresh=hard").json()
    assert app["status"]["sync"]["status"] == "OutOfSync" and app["status"]["health"]["status"] == "Missing"
    assert call(argocd, "GET", "/api/v1/applications/shop-dev?project=default").status_code == 403
    assert call(argocd, "GET", "/api/v1/applications/nope?project=shop").status_code == 404
    assert len(call(argocd, "GET", "/api/v1/applications?project=shop").json()["items"]) == 1
    assert call(argocd, "GET", "/api/v1/applications?project=default").json()["items"] == []


def test_sync_runs_then_succeeds_with_history_tree_and_events(argocd: ArgoCdEmulator) -> None:
    _setup(argocd)
    started = call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={"revision": "abc123"}).json()
    assert started["status"]["operationState"]["phase"] == "Running"
    assert started["status"]["health"]["status"] == "Progressing"
    again = call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    assert again.status_code == 400 and again.json()["message"] == "another operation is already in progress"
    done = call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]
    assert done["operationState"]["phase"] == "Succeeded"
    assert done["sync"] == {"status": "Synced", "revision": "abc123", "comparedTo": done["sync"]["comparedTo"]}
    assert done["health"]["status"] == "Healthy"
    assert [(h["id"], h["revision"], h["initiatedBy"]) for h in done["history"]] == [
        (0, "abc123", {"username": "admin"})
    ]
    call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    history = call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]["history"]
    assert [(h["id"], h["revision"]) for h in history] == [(0, "abc123"), (1, "main")]
    tree = call(argocd, "GET", "/api/v1/applications/shop-dev/resource-tree").json()
    assert tree["nodes"][0]["kind"] == "Deployment" and tree["nodes"][0]["namespace"] == "shop-dev"
    reasons = [e["reason"] for e in call(argocd, "GET", "/api/v1/applications/shop-dev/events").json()["items"]]
    assert reasons == ["ResourceCreated"] + ["OperationStarted", "OperationCompleted"] * 2


def test_sync_by_duration(argocd: ArgoCdEmulator) -> None:
    argocd.sync_polls = None
    argocd.sync_duration = 0.1
    _setup(argocd)
    call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    assert call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]["operationState"]["phase"] == "Running"
    time.sleep(0.15)
    assert argocd.apps()[0]["status"]["operationState"]["phase"] == "Succeeded"


def test_fail_next_sync_and_degrade_over_http(argocd: ArgoCdEmulator) -> None:
    _setup(argocd)
    assert call(argocd, "POST", "/_emulator/apps/shop-dev/fail-next-sync", json={"message": "boom"}).ok
    call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    status = call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]
    assert status["operationState"] == {**status["operationState"], "phase": "Failed", "message": "boom"}
    assert status["health"] == {"status": "Degraded", "message": "boom"} and status["history"] == []
    call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    call(argocd, "GET", "/api/v1/applications/shop-dev")
    assert call(argocd, "POST", "/_emulator/apps/shop-dev/degrade", json={"message": "CrashLoopBackOff"}).ok
    health = call(argocd, "GET", "/_emulator/apps").json()["items"][0]["status"]["health"]
    assert health == {"status": "Degraded", "message": "CrashLoopBackOff"}


def test_rollback_and_terminate(argocd: ArgoCdEmulator) -> None:
    _setup(argocd)
    for revision in ("v1", "v2"):
        call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={"revision": revision})
        call(argocd, "GET", "/api/v1/applications/shop-dev")
    assert call(argocd, "POST", "/api/v1/applications/shop-dev/rollback", json={"id": 9}).status_code == 400
    call(argocd, "POST", "/api/v1/applications/shop-dev/rollback", json={"id": 0})
    status = call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]
    assert status["sync"]["revision"] == "v1" and [h["revision"] for h in status["history"]] == ["v1", "v2", "v1"]
    assert call(argocd, "DELETE", "/api/v1/applications/shop-dev/operation").status_code == 400  # nothing running
    call(argocd, "POST", "/api/v1/applications/shop-dev/sync", json={})
    assert call(argocd, "DELETE", "/api/v1/applications/shop-dev/operation").status_code == 200
    assert argocd.apps()[0]["status"]["operationState"]["phase"] == "Terminating"
    assert call(argocd, "GET", "/api/v1/applications/shop-dev").json()["status"]["operationState"]["phase"] == "Failed"
    auto = _app(syncPolicy={"automated": {"prune": True, "selfHeal": True}})
    call(argocd, "PUT", "/api/v1/applications/shop-dev", json=auto)
    refused = call(argocd, "POST", "/api/v1/applications/shop-dev/rollback", json={"id": 0})
    assert refused.status_code == 400 and "auto-sync is enabled" in refused.json()["message"]


def test_project_token_is_scoped(argocd: ArgoCdEmulator) -> None:
    _setup(argocd)
    call(argocd, "POST", "/api/v1/applications", json=_app("other", project="default", namespace="x"))
    token = call(argocd, "POST", "/api/v1/projects/shop/roles/ci/token", json={}).json()["token"]
    assert call(argocd, "POST", "/api/v1/projects/shop/roles/nope/token", json={}).status_code == 404
    names = [a["metadata"]["name"] for a in call(argocd, "GET", "/api/v1/applications", token).json()["items"]]
    assert names == ["shop-dev"]
    assert call(argocd, "GET", "/api/v1/applications/other", token).json()["message"].startswith("permission denied")
    assert call(argocd, "POST", "/api/v1/applications/other/sync", token, json={}).status_code == 403
    assert call(argocd, "GET", "/api/v1/applications/missing", token).status_code == 404
    synced = call(argocd, "POST", "/api/v1/applications/shop-dev/sync", token, json={}).json()
    assert synced["status"]["operationState"]["operation"]["initiatedBy"] == {"username": "proj:shop:ci"}
    assert call(argocd, "POST", "/api/v1/projects", token, json={"project": _project("x")}).status_code == 403


def test_fault_injection_and_reset(argocd: ArgoCdEmulator) -> None:
    argocd.fail_next(method="GET", path="/api/v1/applications", status=503)
    assert call(argocd, "GET", "/api/v1/applications").status_code == 503
    assert call(argocd, "GET", "/api/v1/applications").status_code == 200
    _setup(argocd)
    assert call(argocd, "POST", "/_emulator/reset").ok
    assert argocd.apps() == [] and [p["metadata"]["name"] for p in argocd.projects()] == ["default"]
