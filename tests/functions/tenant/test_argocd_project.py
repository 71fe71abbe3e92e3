"""A tenant's registered repositories and its Argo CD AppProject, end to end: HTTP through the
local API Gateway, real PostgreSQL, and the Kubernetes and Argo CD emulators over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp.clients.argocd import ArgoCdClient
from idp.db import Database
from idp.deploy.argocd_objects import application

ALICE = "alice@example.com"
BOB = "bob@example.com"
WEB = "https://github.com/acme/web"
API = "git@github.com:acme/api"
SERVER = "https://cluster.example.com"


def _tenant(name: str = "payments", **extra: Any) -> dict[str, Any]:
    return {"name": name, "display_name": "Payments team", "environments": ["dev", "prod"], **extra}


def _project(argocd: Any, name: str = "payments") -> dict[str, Any] | None:
    return next((p for p in argocd.projects() if p["metadata"]["name"] == name), None)


def _client(argocd: Any) -> ArgoCdClient:
    return ArgoCdClient(argocd.url, argocd.admin_token)


@pytest.fixture
def cluster_server(api: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The platform configured with a named destination cluster (not the in-cluster default)."""
    from idp.config import reset_settings

    monkeypatch.setenv("ARGOCD_DESTINATION_SERVER", SERVER)
    reset_settings()
    return SERVER


def test_creating_a_tenant_creates_its_project(api: Any, argocd: Any, cluster_server: str) -> None:
    repos = ["https://GitHub.com/acme/web.git/", API]
    response = api.call("POST", "/tenants", json=_tenant(repositories=repos))
    assert response.status_code == 201, response.text
    assert response.json()["repositories"] == [API, WEB]  # normalized and sorted

    project = _project(argocd)
    assert project is not None
    spec = project["spec"]
    assert spec["sourceRepos"] == [API, WEB]
    assert spec["destinations"] == [
        {"server": cluster_server, "namespace": "payments-dev"},
        {"server": cluster_server, "namespace": "payments-prod"},
    ]
    assert spec["clusterResourceWhitelist"] == []
    assert {(k["group"], k["kind"]) for k in spec["namespaceResourceBlacklist"]} == {
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("networking.k8s.io", "NetworkPolicy"),
    }
    (role,) = spec["roles"]
    assert role["name"] == "platform"
    assert all(p.startswith("p, proj:payments:platform, applications, ") for p in role["policies"])
    assert all(p.endswith(", payments/*, allow") for p in role["policies"])
    assert project["metadata"]["labels"]["idp.platform/tenant"] == "payments"

    shown = api.call("GET", "/tenants/payments").json()
    assert shown["repositories"] == [API, WEB]
    assert api.call("GET", "/tenants").json()[0]["repositories"] == [API, WEB]


def test_a_tenant_without_repositories_gets_a_project_that_accepts_none(api: Any, argocd: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == []
    assert [d["server"] for d in project["spec"]["destinations"]] == ["https://kubernetes.default.svc"] * 2


def test_patching_repositories_replaces_them_and_the_projects_source_repos(api: Any, argocd: Any, db: Database) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    changed = api.call("PATCH", "/tenants/payments", json={"repositories": [API, WEB + ".git"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["repositories"] == [API, WEB]
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == [API, WEB]

    # Other fields leave the repositories alone; an empty list removes them all.
    renamed = api.call("PATCH", "/tenants/payments", json={"display_name": "Payments"})
    assert renamed.json()["repositories"] == [API, WEB]
    cleared = api.call("PATCH", "/tenants/payments", json={"repositories": []})
    assert cleared.status_code == 200 and cleared.json()["repositories"] == []
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == []

    rows = db.run("SELECT details FROM audit_log WHERE action = 'tenant.update' ORDER BY id")
    details = [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]
    assert details[0]["repositories_added"] == [API] and details[0]["repositories_removed"] == []
    assert "repositories_added" not in details[1]
    assert details[2]["repositories_removed"] == [API, WEB]
    created = db.run("SELECT details FROM audit_log WHERE action = 'tenant.create'")[0][0]
    assert (created if isinstance(created, dict) else json.loads(created))["repositories"] == [WEB]


def test_kept_repositories_keep_who_added_them(api: Any, db: Database) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "admin"}).status_code == 201
    changed = api.call("PATCH", "/tenants/payments", json={"repositories": [WEB, API]}, user=BOB)
    assert changed.status_code == 200, changed.text
    rows = db.run("SELECT url, added_by FROM tenant_repositories ORDER BY url")
    assert rows == [[API, BOB], [WEB, ALICE]]


@pytest.mark.parametrize(
    ("repositories", "named"),
    [
        (["ftp://github.com/acme/web"], "ftp://github.com/acme/web"),
        ([WEB, "https://github.com/acme/*"], "https://github.com/acme/*"),
        (["*"], "'*'"),
        (["not a url"], "not a url"),
        ([WEB, "https://GITHUB.com/acme/web.git"], "repeats"),
    ],
)
def test_a_bad_repository_is_a_422_naming_it(api: Any, argocd: Any, repositories: list[str], named: str) -> None:
    created = api.call("POST", "/tenants", json=_tenant(repositories=repositories))
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert error["code"] == "invalid_input" and named in error["message"]
    assert "repositories" in [d["field"] for d in error["details"]]
    assert api.call("GET", "/tenants/payments").status_code == 404
    assert _project(argocd) is None

    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    patched = api.call("PATCH", "/tenants/payments", json={"repositories": repositories})
    assert patched.status_code == 422 and named in patched.json()["error"]["message"]
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == [WEB]


def test_the_name_default_is_refused(api: Any, argocd: Any) -> None:
    response = api.call("POST", "/tenants", json=_tenant("default"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == ["name"]
    assert "reserved" in error["message"] and "Argo CD" in error["message"]
    assert [p["metadata"]["name"] for p in argocd.projects()] == ["default"]


def test_creating_or_reconciling_twice_leaves_the_project_unchanged(api: Any, argocd: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    before = _project(argocd)
    assert before is not None
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB + ".git"])).status_code == 200
    assert api.call("POST", "/tenants/payments/reconcile").status_code == 200
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "viewer"}).status_code == 201
    after = _project(argocd)
    assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    # The same name with other repositories is not a retry.
    other = api.call("POST", "/tenants", json=_tenant(repositories=[API]))
    assert other.status_code == 409


def test_reconcile_restores_a_deleted_or_hand_edited_project(api: Any, argocd: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    with _client(argocd) as client:
        assert client.delete_project("payments")
    assert _project(argocd) is None
    assert api.call("POST", "/tenants/payments/reconcile").json()["status"] == "ready"
    restored = _project(argocd)
    assert restored is not None and restored["spec"]["sourceRepos"] == [WEB]

    edited = {"metadata": restored["metadata"], "spec": dict(restored["spec"])}
    edited["spec"]["sourceRepos"] = [WEB, "https://github.com/*"]
    edited["spec"]["destinations"] = [*restored["spec"]["destinations"], {"server": "*", "namespace": "*"}]
    edited["spec"]["clusterResourceWhitelist"] = [{"group": "*", "kind": "*"}]
    with _client(argocd) as client:
        client.upsert_project(edited)
    assert api.call("POST", "/tenants/payments/reconcile").status_code == 200
    repaired = _project(argocd)
    assert repaired is not None and repaired["spec"] == restored["spec"]


def test_project_role_tokens_survive_a_reconcile(api: Any, argocd: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    with _client(argocd) as client:
        client.project_token("payments", "platform")
    issued = _project(argocd)
    assert issued is not None and issued["spec"]["roles"][0]["jwtTokens"]
    assert api.call("PATCH", "/tenants/payments", json={"repositories": [WEB, API]}).status_code == 200
    after = _project(argocd)
    assert after is not None and after["spec"]["sourceRepos"] == [API, WEB]
    assert after["spec"]["roles"][0]["jwtTokens"] == issued["spec"]["roles"][0]["jwtTokens"]


def test_argocd_down_mid_create_leaves_not_ready_tenant_that_retry_completes(api: Any, argocd: Any, kube: Any) -> None:
    argocd.fail_next(path="/api/v1/projects", status=503)
    failed = api.call("POST", "/tenants", json=_tenant(repositories=[WEB]))
    assert failed.status_code == 502, failed.text
    error = failed.json()["error"]
    assert error["code"] == "argocd_unavailable"
    assert "retry" in error["message"].lower() and "reconcile" in error["message"]

    shown = api.call("GET", "/tenants/payments").json()
    assert shown["status"] == "not_ready" and shown["status_reason"].startswith("Argo CD failed: ")
    assert shown["repositories"] == [WEB]
    assert _project(argocd) is None
    assert len(kube.objects("resourcequotas", "payments-prod")) == 1  # Kubernetes was done first

    retried = api.call("POST", "/tenants", json=_tenant(repositories=[WEB]))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "ready" and retried.json()["status_reason"] is None
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == [WEB]


def test_argocd_down_during_a_patch_then_reconcile_completes(api: Any, argocd: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).status_code == 201
    argocd.fail_next(method="POST", path="/api/v1/projects", status=500)
    failed = api.call("PATCH", "/tenants/payments", json={"repositories": [API]})
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "argocd_unavailable"
    shown = api.call("GET", "/tenants/payments").json()
    assert shown["status"] == "not_ready" and shown["repositories"] == [API]  # recorded, not yet applied
    assert api.call("POST", "/tenants/payments/reconcile").json()["status"] == "ready"
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == [API]


def test_delete_removes_the_tenants_apps_and_project_only(api: Any, argocd: Any, kube: Any) -> None:
    payments = api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).json()["id"]
    search = api.call("POST", "/tenants", json=_tenant("search", repositories=[API]), user=BOB).json()["id"]
    with _client(argocd) as client:
        for env in ("dev", "prod"):
            client.upsert_app(application("payments", "web", env, tenant_id=payments, repo_url=WEB, path="deploy"))
        client.upsert_app(application("search", "api", "dev", tenant_id=search, repo_url=API, path="."))

    deleted = api.call("DELETE", "/tenants/payments")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "deleted"
    assert [p["metadata"]["name"] for p in argocd.projects()] == ["default", "search"]
    assert [a["metadata"]["name"] for a in argocd.apps()] == ["search-api-dev"]
    assert kube.objects("resourcequotas", "payments-dev") == []


def test_delete_survives_an_argocd_failure(api: Any, argocd: Any) -> None:
    payments = api.call("POST", "/tenants", json=_tenant(repositories=[WEB])).json()["id"]
    with _client(argocd) as client:
        client.upsert_app(application("payments", "web", "dev", tenant_id=payments, repo_url=WEB, path="."))
    argocd.fail_next(method="DELETE", path="/api/v1/projects", status=503)
    failed = api.call("DELETE", "/tenants/payments")
    assert failed.status_code == 502 and "retry the delete" in failed.json()["error"]["message"].lower()
    shown = api.call("GET", "/tenants/payments").json()
    assert shown["status"] == "deleting" and shown["status_reason"].startswith("Argo CD failed while deleting")
    assert argocd.apps() == []

    assert api.call("DELETE", "/tenants/payments").status_code == 200
    assert _project(argocd) is None
    # The name is free again, with a fresh project.
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    project = _project(argocd)
    assert project is not None and project["spec"]["sourceRepos"] == []
