"""Tenant isolation, tried as an attacker would: over real HTTP through the local gateway,
against PostgreSQL and the Kubernetes and Argo CD emulators.

The platform touches only namespaces it created for the tenant (a row in
`tenant_namespaces` and the tenant's id on the namespace), refuses reserved names before
writing anything, and follows tenants by id, so a name reused after a delete inherits none
of the old tenant's records or Argo CD objects.
"""

from __future__ import annotations

from typing import Any

import pytest

from idp.clients.argocd import ArgoCdClient
from idp.clients.kubernetes import KINDS, KubeClient
from idp.db import Database
from idp.tenants.argocd_project import project

ALICE = "alice@example.com"
BOB = "bob@example.com"
MALLORY = "mallory@example.com"
ADMIN = "platform-admin@example.com"
REPO = "https://github.com/acme/web"


def _tenant(name: str, *environments: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "display_name": name.title(), "environments": list(environments or ("dev",)), **extra}


def _labels(kube: Any, namespace: str) -> dict[str, str]:
    """The namespace's labels but the one the API server sets itself."""
    (found,) = [n for n in kube.objects("namespaces") if n["metadata"]["name"] == namespace]
    labels = dict(found["metadata"].get("labels") or {})
    labels.pop("kubernetes.io/metadata.name", None)
    return labels


def _inside(kube: Any, namespace: str) -> list[str]:
    """Everything the platform writes into a namespace, by kind."""
    kinds = ("resourcequotas", "limitranges", "networkpolicies", "rolebindings")
    return [f"{kind}/{o['metadata']['name']}" for kind in kinds for o in kube.objects(kind, namespace)]


def _claims(db: Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.run("SELECT namespace, environment FROM tenant_namespaces ORDER BY namespace")]


def _error(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"])


# -- reserved names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "environment", "namespace"),
    [("kube", "system", "kube-system"), ("kube", "public", "kube-public"), ("kube-node", "lease", "kube-node-lease")],
)
def test_the_clusters_own_namespaces_are_refused_before_anything_is_written(
    api: Any, kube: Any, db: Database, tenant: str, environment: str, namespace: str
) -> None:
    before = _labels(kube, namespace)
    response = api.call("POST", "/tenants", json=_tenant(tenant, environment))
    assert response.status_code == 422, response.text
    error = _error(response)
    assert error["code"] == "namespace_reserved" and namespace in error["message"]
    assert error["details"][0]["namespace"] == namespace
    assert _labels(kube, namespace) == before and _inside(kube, namespace) == []
    assert api.call("GET", f"/tenants/{tenant}").status_code == 404
    assert db.run("SELECT count(*) FROM tenants") == [[0]] and _claims(db) == []


def test_reserved_names_come_from_a_setting(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from idp.config import reset_settings

    monkeypatch.setenv("RESERVED_NAMESPACES", '["team-*"]')
    reset_settings()
    refused = api.call("POST", "/tenants", json=_tenant("team", "dev"))
    assert refused.status_code == 422 and "team-dev" in _error(refused)["message"]
    assert api.call("POST", "/tenants", json=_tenant("kube", "x1")).status_code == 201  # no longer reserved


def test_a_new_environment_on_a_reserved_name_is_refused(
    api: Any, kube: Any, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idp.config import reset_settings

    assert api.call("POST", "/tenants", json=_tenant("openshift", "dev")).status_code == 422
    assert api.call("POST", "/tenants", json=_tenant("idp", "dev")).status_code == 422
    monkeypatch.setenv("RESERVED_NAMESPACES", '["payments-prod"]')
    reset_settings()
    assert api.call("POST", "/tenants", json=_tenant("payments", "dev")).status_code == 201
    refused = api.call("PATCH", "/tenants/payments", json={"environments": ["dev", "prod"]})
    assert refused.status_code == 422 and _error(refused)["code"] == "namespace_reserved"
    assert api.call("GET", "/tenants/payments").json()["environments"] == ["dev"]
    assert _claims(db) == [("payments-dev", "dev")]


# -- names that cannot collide -------------------------------------------------------------


def test_hyphenated_environments_are_refused_so_namespaces_cannot_collide(api: Any, kube: Any, db: Database) -> None:
    # Order 1: `a-b` + `dev` first; `a` + `b-dev` would map to the same namespace.
    assert api.call("POST", "/tenants", json=_tenant("a-b", "dev")).status_code == 201
    refused = api.call("POST", "/tenants", json=_tenant("a", "b-dev"), user=MALLORY)
    assert refused.status_code == 422 and "environments" in refused.text
    assert _claims(db) == [("a-b-dev", "dev")]
    members = api.call("GET", "/tenants/a-b/members").json()
    assert [m["user"] for m in members] == [ALICE]
    assert {b["subjects"][0]["name"] for b in kube.objects("rolebindings", "a-b-dev")} == {ALICE}


def test_hyphenated_environments_are_refused_in_the_other_order_too(api: Any, kube: Any) -> None:
    # Order 2: `a` + `b-dev` first is refused, so `a-b` + `dev` stays free for its rightful owner.
    assert api.call("POST", "/tenants", json=_tenant("a", "b-dev"), user=MALLORY).status_code == 422
    assert api.call("POST", "/tenants", json=_tenant("a-b", "dev")).status_code == 201
    assert _labels(kube, "a-b-dev")["idp.platform/tenant"] == "a-b"


def test_one_namespace_is_never_claimed_by_two_tenants(api: Any, db: Database) -> None:
    """The database's own constraint, beneath the grammar: a claim held by one tenant is a 409 for any other."""
    from idp.errors import Conflict
    from idp.tenants import namespaces, service

    assert api.call("POST", "/tenants", json=_tenant("payments", "dev")).status_code == 201
    with db.transaction():
        other = service.insert_tenant(
            db, name="other", display_name="Other", environments=["dev"], quotas={}, created_by=MALLORY
        )
        intruder = other.model_copy(update={"name": "payments"})  # as if it mapped to payments-dev
        with pytest.raises(Conflict) as caught:
            namespaces.claim(db, intruder)
        assert caught.value.code == "namespace_taken"


# -- namespaces the platform does not own ---------------------------------------------------


def test_a_namespace_that_exists_for_someone_else_is_a_409_and_nothing_is_written(
    api: Any, kube: Any, kube_client: KubeClient, db: Database
) -> None:
    kube_client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments-prod"}})
    response = api.call("POST", "/tenants", json=_tenant("payments", "dev", "prod"))
    assert response.status_code == 409, response.text
    error = _error(response)
    assert error["code"] == "namespace_taken" and error["details"] == {"namespace": "payments-prod"}
    assert "payments-prod" in error["message"]
    assert _labels(kube, "payments-prod") == {} and _inside(kube, "payments-prod") == []
    assert "payments-dev" not in {n["metadata"]["name"] for n in kube.objects("namespaces")}
    assert api.call("GET", "/tenants/payments").status_code == 404
    assert db.run("SELECT count(*) FROM tenants") == [[0]] and _claims(db) == []


def test_adding_an_environment_whose_namespace_is_taken_changes_nothing(
    api: Any, kube: Any, kube_client: KubeClient
) -> None:
    assert api.call("POST", "/tenants", json=_tenant("payments", "dev")).status_code == 201
    kube_client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments-qa"}})
    response = api.call("PATCH", "/tenants/payments", json={"environments": ["dev", "qa"]})
    assert response.status_code == 409 and _error(response)["details"] == {"namespace": "payments-qa"}
    shown = api.call("GET", "/tenants/payments").json()
    assert shown["environments"] == ["dev"] and shown["status"] == "ready"
    assert _labels(kube, "payments-qa") == {} and _inside(kube, "payments-qa") == []


def test_a_namespace_recreated_by_someone_else_is_neither_touched_nor_deleted(
    api: Any, kube: Any, kube_client: KubeClient, db: Database
) -> None:
    created = api.call("POST", "/tenants", json=_tenant("payments", "dev", "prod"))
    assert created.status_code == 201
    # Someone deletes the tenant's namespace and makes their own under the same name.
    kube_client.delete(KINDS["Namespace"], "payments-prod")
    theirs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments-prod", "labels": {"team": "x"}}}
    kube_client.create(theirs)

    reconciled = api.call("POST", "/tenants/payments/reconcile")
    assert reconciled.status_code == 409 and _error(reconciled)["code"] == "namespace_taken"
    assert api.call("GET", "/tenants/payments").json()["status"] == "not_ready"
    assert _labels(kube, "payments-prod") == {"team": "x"} and _inside(kube, "payments-prod") == []

    deleted = api.call("DELETE", "/tenants/payments")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    names = {n["metadata"]["name"] for n in kube.objects("namespaces")}
    assert "payments-prod" in names and "payments-dev" not in names
    assert _labels(kube, "payments-prod") == {"team": "x"}
    assert _claims(db) == []


def test_the_network_policy_admits_the_tenant_by_id_not_by_name(api: Any, kube: Any) -> None:
    tenant_id = api.call("POST", "/tenants", json=_tenant("payments", "dev")).json()["id"]
    (policy,) = kube.objects("networkpolicies", "payments-dev")
    assert policy["spec"]["ingress"] == [
        {"from": [{"namespaceSelector": {"matchLabels": {"idp.platform/tenant-id": tenant_id}}}]}
    ]
    assert _labels(kube, "payments-dev")["idp.platform/tenant-id"] == tenant_id


# -- names reused after a delete ------------------------------------------------------------


@pytest.fixture
def old_tenant(api: Any, argocd: Any) -> dict[str, Any]:
    """Tenant `x` by Alice with app `web` and a prod deployment waiting for approval, then deleted."""
    created = api.call("POST", "/tenants", json=_tenant("x", "dev", "prod", repositories=[REPO]))
    assert created.status_code == 201, created.text
    app = api.call("POST", "/tenants/x/apps", json={"name": "web", "repo_url": REPO, "path": "deploy"})
    assert app.status_code == 201, app.text
    pending = api.call("POST", "/tenants/x/apps/web/deployments", json={"environment": "prod", "revision": "v1"})
    assert pending.status_code == 202 and pending.json()["state"] == "pending_approval", pending.text
    assert api.call("DELETE", "/tenants/x").status_code == 200
    return {"id": created.json()["id"], "deployment": pending.json()["id"]}


def test_a_reused_name_sees_none_of_the_old_tenants_records(api: Any, old_tenant: dict[str, Any]) -> None:
    created = api.call("POST", "/tenants", json=_tenant("x", "dev", "prod", repositories=[REPO]), user=MALLORY)
    assert created.status_code == 201, created.text
    assert created.json()["id"] != old_tenant["id"]
    deployment = old_tenant["deployment"]

    for method, path in (
        ("GET", f"/deployments/{deployment}"),
        ("POST", f"/deployments/{deployment}/approve"),
        ("POST", f"/deployments/{deployment}/reject"),
    ):
        response = api.call(method, path, user=MALLORY, json={} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert _error(response)["code"] == "deployment_not_found"
    assert api.call("GET", "/tenants/x/apps", user=MALLORY).json() == []

    audit = api.call("GET", "/audit?tenant=x", user=MALLORY)
    assert audit.status_code == 200
    assert {e["tenant_id"] for e in audit.json()} == {created.json()["id"]}
    assert [e["action"] for e in audit.json()] == ["tenant.create"]


def test_platform_admins_still_read_a_deleted_tenants_audit_trail(api: Any, old_tenant: dict[str, Any]) -> None:
    assert api.call("POST", "/tenants", json=_tenant("x", "dev"), user=MALLORY).status_code == 201
    by_name = api.call("GET", "/audit?tenant=x", user=ADMIN).json()
    assert {e["tenant_id"] for e in by_name} == {old_tenant["id"], by_name[0]["tenant_id"]}
    by_id = api.call("GET", f"/audit?tenant_id={old_tenant['id']}", user=ADMIN).json()
    actions = [e["action"] for e in by_id]
    assert actions[0] == "tenant.delete" and "deployment.request" in actions and actions[-1] == "tenant.create"
    assert {e["tenant_id"] for e in by_id} == {old_tenant["id"]}
    # Only platform admins read by id.
    assert api.call("GET", f"/audit?tenant_id={old_tenant['id']}&tenant=x", user=MALLORY).status_code == 403


def test_an_argocd_project_left_by_a_deleted_tenant_is_never_adopted(
    api: Any, argocd: Any, old_tenant: dict[str, Any]
) -> None:
    leftover = project("x", ["x-dev"], [REPO], tenant_id=old_tenant["id"])
    with ArgoCdClient(argocd.url, argocd.admin_token) as client:
        client.upsert_project(leftover)
    response = api.call("POST", "/tenants", json=_tenant("x", "dev"), user=MALLORY)
    assert response.status_code == 409, response.text
    assert _error(response)["code"] == "argocd_project_taken"
    (live,) = [p for p in argocd.projects() if p["metadata"]["name"] == "x"]
    assert live["metadata"]["labels"]["idp.platform/tenant-id"] == old_tenant["id"]
    assert live["spec"]["sourceRepos"] == [REPO]
    assert api.call("GET", "/tenants/x", user=MALLORY).json()["status"] == "not_ready"


def test_an_argocd_application_of_another_tenant_is_never_overwritten(api: Any, argocd: Any) -> None:
    # `a` + app `b-web` and `a-b` + app `web` share the Application name a-b-web-dev.
    assert api.call("POST", "/tenants", json=_tenant("a", "dev", repositories=[REPO])).status_code == 201
    assert api.call("POST", "/tenants/a/apps", json={"name": "b-web", "repo_url": REPO}).status_code == 201
    assert api.call("POST", "/tenants", json=_tenant("a-b", "dev", repositories=[REPO]), user=MALLORY).ok
    taken = api.call("POST", "/tenants/a-b/apps", json={"name": "web", "repo_url": REPO}, user=MALLORY)
    assert taken.status_code == 409 and _error(taken)["code"] == "argocd_application_taken"
    live = argocd.app("a-b-web-dev")
    assert live is not None and live["spec"]["project"] == "a"
