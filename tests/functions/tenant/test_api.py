"""The tenant function end to end: HTTP through the local API Gateway (authorizer included),
real PostgreSQL, and the Kubernetes emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from idp.db import Database

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"


def _tenant(name: str = "payments", **extra: Any) -> dict[str, Any]:
    return {"name": name, "display_name": "Payments team", **extra}


def _tenant_namespaces(kube: Any) -> list[str]:
    """Namespaces the platform made (a fresh cluster also has default, kube-system, ...)."""
    return sorted(
        ns["metadata"]["name"]
        for ns in kube.objects("namespaces")
        if ns["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "idp"
    )


def _versions(kube: Any, tenant: str) -> dict[tuple[str, str, str], str]:
    found = {}
    for resource in ("namespaces", "resourcequotas", "limitranges", "networkpolicies", "rolebindings"):
        for obj in kube.objects(resource):
            meta = obj["metadata"]
            if meta.get("labels", {}).get("idp.platform/tenant") == tenant:
                found[(resource, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return found


def test_create_tenant_provisions_every_environment(api: Any, kube: Any) -> None:
    quotas = {"prod": {"cpu": "8", "memory": "16Gi", "pods": 100, "storage": "200Gi"}}
    response = api.call("POST", "/tenants", json=_tenant(quotas=quotas))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["namespaces"] == {"dev": "payments-dev", "staging": "payments-staging", "prod": "payments-prod"}

    namespaces = {ns["metadata"]["name"]: ns for ns in kube.objects("namespaces")}
    for env in ("dev", "staging", "prod"):
        ns = namespaces[f"payments-{env}"]
        assert (
            ns["metadata"]["labels"].items()
            >= {
                "idp.platform/tenant": "payments",
                "idp.platform/tenant-id": body["id"],
                "idp.platform/environment": env,
                "app.kubernetes.io/managed-by": "idp",
            }.items()
        )
        assert len(kube.objects("resourcequotas", f"payments-{env}")) == 1
        (limits,) = kube.objects("limitranges", f"payments-{env}")
        (policy,) = kube.objects("networkpolicies", f"payments-{env}")
        (binding,) = kube.objects("rolebindings", f"payments-{env}")
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert policy["spec"]["ingress"] == [
            {"from": [{"namespaceSelector": {"matchLabels": {"idp.platform/tenant-id": body["id"]}}}]}
        ]
        assert binding["roleRef"]["name"] == "admin"
        assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": ALICE}]
        assert limits["spec"]["limits"][0]["type"] == "Container"
    prod_quota = kube.objects("resourcequotas", "payments-prod")[0]["spec"]["hard"]
    assert prod_quota["limits.cpu"] == "8" and prod_quota["pods"] == "100" and prod_quota["requests.storage"] == "200Gi"
    dev_quota = kube.objects("resourcequotas", "payments-dev")[0]["spec"]["hard"]
    assert dev_quota["limits.cpu"] == "2"


def test_small_quota_caps_container_defaults(api: Any, kube: Any) -> None:
    quotas = {"dev": {"cpu": "200m", "memory": "256Mi", "pods": 5, "storage": "1Gi"}}
    assert api.call("POST", "/tenants", json=_tenant(environments=["dev"], quotas=quotas)).status_code == 201
    container = kube.objects("limitranges", "payments-dev")[0]["spec"]["limits"][0]
    assert container["default"] == {"cpu": "200m", "memory": "256Mi"}
    assert container["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}
    assert container["max"] == {"cpu": "200m", "memory": "256Mi"}


def test_creating_or_reconciling_twice_changes_nothing(api: Any, kube: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    before = _versions(kube, "payments")
    assert len(before) == 15  # 3 environments x (namespace, quota, limits, policy, one binding)

    again = api.call("POST", "/tenants", json=_tenant())
    assert again.status_code == 200 and again.json()["status"] == "ready"
    reconciled = api.call("POST", "/tenants/payments/reconcile")
    assert reconciled.status_code == 200
    assert _versions(kube, "payments") == before


def test_reconcile_repairs_drift(api: Any, kube: Any) -> None:
    import requests

    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    headers = {"Authorization": "Bearer emulator-admin-token", "Content-Type": "application/merge-patch+json"}
    base = kube.url + "/api/v1/namespaces/payments-prod"
    assert requests.delete(base + "/resourcequotas/idp-quota", headers=headers, timeout=5).status_code == 200
    patch = {"spec": {"hard": {"limits.cpu": "999", "services": "1"}}}
    assert requests.patch(base + "/limitranges/idp-limits", json={"spec": {"limits": []}}, headers=headers, timeout=5)
    assert requests.patch(
        kube.url + "/api/v1/namespaces/payments-dev/resourcequotas/idp-quota", json=patch, headers=headers, timeout=5
    ).ok

    assert api.call("POST", "/tenants/payments/reconcile").status_code == 200
    prod = kube.objects("resourcequotas", "payments-prod")
    assert [q["metadata"]["name"] for q in prod] == ["idp-quota"]
    dev_hard = kube.objects("resourcequotas", "payments-dev")[0]["spec"]["hard"]
    assert dev_hard["limits.cpu"] == "2" and "services" not in dev_hard
    assert len(kube.objects("limitranges", "payments-prod")[0]["spec"]["limits"]) == 2


def test_kubernetes_failure_mid_create_leaves_not_ready_tenant_that_retry_completes(
    api: Any, kube: Any, db: Database
) -> None:
    kube.fail_next(method="POST", resource="networkpolicies", status=503, count=1)
    failed = api.call("POST", "/tenants", json=_tenant())
    assert failed.status_code == 502
    error = failed.json()["error"]
    assert error["code"] == "kubernetes_unavailable" and "retry" in error["message"].lower()

    shown = api.call("GET", "/tenants/payments").json()
    assert shown["status"] == "not_ready" and "injected failure" in shown["status_reason"]
    # The record exists and claims no more than what exists: one namespace got part-way.
    assert db.run("SELECT status FROM tenants WHERE name = 'payments'") == [["not_ready"]]
    assert kube.objects("networkpolicies", "payments-dev") == []

    retried = api.call("POST", "/tenants", json=_tenant())
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "ready"
    assert len(_versions(kube, "payments")) == 15


def test_kubernetes_failure_then_reconcile_completes(api: Any, kube: Any) -> None:
    kube.fail_next(method="POST", resource="rolebindings", status=500)
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 502
    assert api.call("POST", "/tenants/payments/reconcile").json()["status"] == "ready"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Payments", "display_name": "x"}, "name"),
        ({"name": "pay_ments", "display_name": "x"}, "name"),
        ({"name": "-pay", "display_name": "x"}, "name"),
        ({"name": "p" * 60, "display_name": "x"}, "body"),
        ({"name": "pay", "display_name": ""}, "display_name"),
        ({"display_name": "x"}, "name"),
        ({"name": "pay", "display_name": "x", "environments": ["Prod"]}, "environments.0"),
        ({"name": "pay", "display_name": "x", "environments": ["dev", "dev"]}, "environments"),
        ({"name": "pay", "display_name": "x", "environments": []}, "environments"),
        ({"name": "pay", "display_name": "x", "quotas": {"dev": {"cpu": "lots"}}}, "quotas.dev.cpu"),
        ({"name": "pay", "display_name": "x", "quotas": {"dev": {"memory": "1GB"}}}, "quotas.dev.memory"),
        ({"name": "pay", "display_name": "x", "quotas": {"dev": {"pods": 0}}}, "quotas.dev.pods"),
        ({"name": "pay", "display_name": "x", "quotas": {"qa": {"cpu": "1"}}}, "body"),
        ({"name": "pay", "display_name": "x", "owner": "me"}, "owner"),
    ],
)
def test_bad_tenant_input_is_422_naming_the_field(api: Any, kube: Any, body: dict[str, Any], field: str) -> None:
    response = api.call("POST", "/tenants", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in [d["field"] for d in error["details"]], error
    assert _tenant_namespaces(kube) == []


def test_other_bad_requests_get_clear_4xx(api: Any, kube: Any) -> None:
    not_json = api.call("POST", "/tenants", data="{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"

    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    duplicate = api.call("POST", "/tenants", json=_tenant(display_name="Another team"), user=BOB)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "conflict"

    missing = api.call("GET", "/tenants/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]

    bad_role = api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "superuser"})
    assert bad_role.status_code == 422 and bad_role.json()["error"]["details"][0]["field"] == "role"

    bad_patch = api.call("PATCH", "/tenants/payments", json={"quotas": {"qa": {"cpu": "1"}}})
    assert bad_patch.status_code == 422 and "qa" in bad_patch.json()["error"]["message"]


def test_requests_without_a_valid_token_are_401(api: Any) -> None:
    anonymous = api.call("GET", "/tenants", user=None)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    forged = api.call("GET", "/tenants", user=None, headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401 and forged.json()["error"]["message"] == "token is malformed"


def test_members_get_bindings_and_role_changes_follow(api: Any, kube: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(environments=["dev"])).status_code == 201
    added = api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "developer"})
    assert added.status_code == 201 and added.json()["role"] == "developer"

    def bindings() -> dict[str, str]:
        return {b["subjects"][0]["name"]: b["roleRef"]["name"] for b in kube.objects("rolebindings", "payments-dev")}

    assert bindings() == {ALICE: "admin", BOB: "edit"}
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "viewer"}).status_code == 201
    assert bindings() == {ALICE: "admin", BOB: "view"}
    members = api.call("GET", "/tenants/payments/members").json()
    assert [(m["user"], m["role"]) for m in members] == [(ALICE, "owner"), (BOB, "viewer")]

    assert api.call("DELETE", f"/tenants/payments/members/{BOB}").status_code == 200
    assert bindings() == {ALICE: "admin"}
    assert api.call("DELETE", f"/tenants/payments/members/{BOB}").status_code == 404


def test_last_owner_cannot_leave(api: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(environments=["dev"])).status_code == 201
    response = api.call("DELETE", f"/tenants/payments/members/{ALICE}")
    assert response.status_code == 409 and "at least one owner" in response.json()["error"]["message"]
    demote = api.call("POST", "/tenants/payments/members", json={"user": ALICE, "role": "admin"})
    assert demote.status_code == 409


def test_tenants_are_isolated_and_roles_enforced(api: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(environments=["dev"])).status_code == 201
    assert api.call("POST", "/tenants", json=_tenant("search", environments=["dev"]), user=CAROL).status_code == 201
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "viewer"}).status_code == 201

    # An outsider learns nothing: 404, as if the tenant did not exist.
    for method, path in [("GET", "/tenants/payments"), ("PATCH", "/tenants/payments"), ("DELETE", "/tenants/payments")]:
        response = api.call(method, path, user=CAROL, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
    assert [t["name"] for t in api.call("GET", "/tenants", user=CAROL).json()] == ["search"]
    assert [t["name"] for t in api.call("GET", "/tenants", user=BOB).json()] == ["payments"]

    # A viewer reads but may not change.
    assert api.call("GET", "/tenants/payments", user=BOB).status_code == 200
    denied = api.call("PATCH", "/tenants/payments", user=BOB, json={"display_name": "Mine"})
    assert denied.status_code == 403 and "viewer" in denied.json()["error"]["message"]
    assert (
        api.call("POST", "/tenants/payments/members", user=BOB, json={"user": BOB, "role": "owner"}).status_code == 403
    )

    # Platform admins see everything.
    admin = "platform-admin@example.com"
    assert {t["name"] for t in api.call("GET", "/tenants", user=admin).json()} == {"payments", "search"}


def test_patch_adds_an_environment_and_changes_quota(api: Any, kube: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant(environments=["dev"])).status_code == 201
    change = {
        "environments": ["dev", "qa"],
        "quotas": {"qa": {"cpu": "1", "memory": "1Gi", "pods": 3, "storage": "5Gi"}},
    }
    response = api.call("PATCH", "/tenants/payments", json=change)
    assert response.status_code == 200, response.text
    assert response.json()["namespaces"] == {"dev": "payments-dev", "qa": "payments-qa"}
    assert kube.objects("resourcequotas", "payments-qa")[0]["spec"]["hard"]["pods"] == "3"

    assert api.call("PATCH", "/tenants/payments", json={"environments": ["qa"]}).status_code == 200
    assert _tenant_namespaces(kube) == ["payments-qa"]


def test_delete_removes_namespaces_and_keeps_the_row_for_audit(api: Any, kube: Any, db: Database) -> None:
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    deleted = api.call("DELETE", "/tenants/payments")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert _tenant_namespaces(kube) == []
    assert kube.objects("resourcequotas") == []
    assert api.call("GET", "/tenants/payments").status_code == 404
    assert db.run("SELECT status, deleted_at IS NOT NULL FROM tenants WHERE name = 'payments'") == [["deleted", True]]
    # The name is free again.
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201


def test_delete_survives_a_kubernetes_failure(api: Any, kube: Any) -> None:
    assert api.call("POST", "/tenants", json=_tenant()).status_code == 201
    kube.fail_next(method="DELETE", resource="namespaces", status=503)
    assert api.call("DELETE", "/tenants/payments").status_code == 502
    assert api.call("GET", "/tenants/payments").json()["status"] == "deleting"
    assert api.call("DELETE", "/tenants/payments").status_code == 200
    assert _tenant_namespaces(kube) == []
