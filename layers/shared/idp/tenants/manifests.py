"""The Kubernetes objects a tenant should have: pure functions of the tenant record.

Every object carries the tenant's immutable id (`idp.platform/tenant-id`) beside its name:
the platform treats a namespace as the tenant's only while that label says so, and the
NetworkPolicy admits the tenant's own namespaces by id, so a later tenant that reuses the
name is a stranger to them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from idp.kube_names import namespace_name, parse_quantity

if TYPE_CHECKING:  # annotations only: the deploy poller reaches this module and needs no tenant models
    from idp.schemas.tenants import MemberRead, Quota, Role

__all__ = [
    "LABEL_ENV",
    "LABEL_MANAGED_BY",
    "LABEL_TENANT",
    "LABEL_TENANT_ID",
    "MANAGED_BY",
    "ROLE_TO_CLUSTER_ROLE",
    "environment_objects",
    "member_binding_name",
]

LABEL_TENANT = "idp.platform/tenant"
LABEL_TENANT_ID = "idp.platform/tenant-id"
LABEL_ENV = "idp.platform/environment"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "idp"
ROLE_TO_CLUSTER_ROLE: dict[Role, str] = {
    "owner": "admin",
    "admin": "admin",
    "developer": "edit",
    "viewer": "view",
}

QUOTA_NAME = "idp-quota"
LIMIT_RANGE_NAME = "idp-limits"
NETWORK_POLICY_NAME = "idp-default-deny"
# Per-container defaults, capped by the namespace quota so a small quota still admits pods.
_DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
_DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


def _labels(tenant: str, tenant_id: str, env: str) -> dict[str, str]:
    return {LABEL_TENANT: tenant, LABEL_TENANT_ID: tenant_id, LABEL_ENV: env, LABEL_MANAGED_BY: MANAGED_BY}


def _smaller(a: str, b: str) -> str:
    return a if parse_quantity(a) <= parse_quantity(b) else b


def member_binding_name(user: str) -> str:
    # User ids are e-mails; object names cannot hold '@', so a stable digest names the binding.
    return "idp-member-" + hashlib.sha256(user.encode()).hexdigest()[:16]


def namespace(tenant: str, tenant_id: str, env: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(tenant, env), "labels": _labels(tenant, tenant_id, env)},
    }


def resource_quota(tenant: str, tenant_id: str, env: str, quota: Quota) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": QUOTA_NAME,
            "namespace": namespace_name(tenant, env),
            "labels": _labels(tenant, tenant_id, env),
        },
        "spec": {
            "hard": {
                "requests.cpu": quota.cpu,
                "limits.cpu": quota.cpu,
                "requests.memory": quota.memory,
                "limits.memory": quota.memory,
                "pods": str(quota.pods),
                "requests.storage": quota.storage,
            }
        },
    }


def limit_range(tenant: str, tenant_id: str, env: str, quota: Quota) -> dict[str, Any]:
    cap = {"cpu": quota.cpu, "memory": quota.memory}
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {
            "name": LIMIT_RANGE_NAME,
            "namespace": namespace_name(tenant, env),
            "labels": _labels(tenant, tenant_id, env),
        },
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {k: _smaller(v, cap[k]) for k, v in _DEFAULT_REQUEST.items()},
                    "default": {k: _smaller(v, cap[k]) for k, v in _DEFAULT_LIMIT.items()},
                    "max": dict(cap),
                },
                {"type": "PersistentVolumeClaim", "max": {"storage": quota.storage}},
            ]
        },
    }


def network_policy(tenant: str, tenant_id: str, env: str) -> dict[str, Any]:
    """Default deny, except traffic among the tenant's own namespaces and DNS lookups."""
    own = {"namespaceSelector": {"matchLabels": {LABEL_TENANT_ID: tenant_id}}}
    dns = {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": NETWORK_POLICY_NAME,
            "namespace": namespace_name(tenant, env),
            "labels": _labels(tenant, tenant_id, env),
        },
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [own]}],
            "egress": [{"to": [own]}, dns],
        },
    }


def member_binding(tenant: str, tenant_id: str, env: str, member: MemberRead) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": member_binding_name(member.user),
            "namespace": namespace_name(tenant, env),
            "labels": _labels(tenant, tenant_id, env),
            "annotations": {"idp.platform/user": member.user, "idp.platform/role": member.role},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": ROLE_TO_CLUSTER_ROLE[member.role],
        },
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": member.user}],
    }


def environment_objects(
    tenant: str, env: str, quota: Quota, members: list[MemberRead], *, tenant_id: str
) -> list[dict[str, Any]]:
    """Everything one environment needs, namespace first so the rest has somewhere to live."""
    return [
        namespace(tenant, tenant_id, env),
        resource_quota(tenant, tenant_id, env, quota),
        limit_range(tenant, tenant_id, env, quota),
        network_policy(tenant, tenant_id, env),
        *(member_binding(tenant, tenant_id, env, m) for m in members),
    ]
