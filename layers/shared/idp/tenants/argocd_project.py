"""The tenant's Argo CD AppProject, and how the platform tells its own Argo CD objects from others'.

The project is always named after the tenant the request was authorized for; no user input
ever chooses it. Every Argo CD object the platform writes carries the tenant's immutable id
(`idp.platform/tenant-id`); one that carries another id is someone else's and is never
updated, adopted or deleted (`owned_by`, `taken`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from idp.errors import Conflict
from idp.tenants.manifests import LABEL_MANAGED_BY, LABEL_TENANT, LABEL_TENANT_ID, MANAGED_BY

__all__ = ["IN_CLUSTER", "PLATFORM_ROLE", "argocd_labels", "owned_by", "project", "project_name", "taken"]

IN_CLUSTER = "https://kubernetes.default.svc"
PLATFORM_ROLE = "platform"

# Kinds only the platform manages in a tenant namespace (the tenant flow applies them).
_PLATFORM_OWNED = [
    {"group": "", "kind": "ResourceQuota"},
    {"group": "", "kind": "LimitRange"},
    {"group": "networking.k8s.io", "kind": "NetworkPolicy"},
]
_PLATFORM_ACTIONS = ("get", "create", "update", "delete", "sync", "override")


def project_name(tenant: str) -> str:
    return tenant


def argocd_labels(tenant: str, tenant_id: str, **extra: str) -> dict[str, str]:
    """The labels of every Argo CD object the platform writes for a tenant."""
    return {LABEL_TENANT: tenant, LABEL_TENANT_ID: tenant_id, LABEL_MANAGED_BY: MANAGED_BY, **extra}


def owned_by(obj: dict[str, Any], tenant_id: str, tenant_created_at: datetime) -> bool:
    """Whether a live Argo CD object is this tenant's.

    It is when it carries the tenant's id. One made by a release that wrote no ids is the
    tenant's only if the platform made it (managed-by) after the tenant was created: an
    older one was left by an earlier tenant of the same name.
    """
    metadata = obj.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if LABEL_TENANT_ID in labels:
        return bool(labels[LABEL_TENANT_ID] == tenant_id)
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return False
    try:
        created = datetime.fromisoformat(str(metadata.get("creationTimestamp")).replace("Z", "+00:00"))
    except ValueError:
        return False
    return created.tzinfo is not None and created >= tenant_created_at.replace(microsecond=0)


def taken(kind: str, name: str) -> Conflict:
    """409 for an Argo CD object of that name that belongs to another tenant (or to no tenant)."""
    return Conflict(
        f"Argo CD {kind} '{name}' already exists and does not belong to this tenant; the platform will not adopt it",
        code=f"argocd_{kind}_taken",
        details={kind: name},
    )


def project(
    tenant: str,
    namespaces: list[str],
    repositories: list[str],
    *,
    tenant_id: str,
    server: str = IN_CLUSTER,
) -> dict[str, Any]:
    """The tenant's AppProject: its repositories, its namespaces, no cluster-scoped kinds."""
    name = project_name(tenant)
    return {
        "metadata": {"name": name, "labels": argocd_labels(tenant, tenant_id)},
        "spec": {
            "description": f"Tenant {tenant} (managed by the platform; changes are overwritten)",
            "sourceRepos": sorted(repositories),
            "destinations": [{"server": server, "namespace": ns} for ns in sorted(namespaces)],
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": list(_PLATFORM_OWNED),
            "roles": [
                {
                    "name": PLATFORM_ROLE,
                    "description": "The platform's own access to this project's applications",
                    "policies": [
                        f"p, proj:{name}:{PLATFORM_ROLE}, applications, {action}, {name}/*, allow"
                        for action in _PLATFORM_ACTIONS
                    ],
                }
            ],
            "orphanedResources": {"warn": True},
        },
    }
