"""The Argo CD objects the platform owns: one AppProject per tenant, one Application per app and environment.

The project is always named after the tenant the request was authorized for; no user input
ever chooses it. Applications never sync on their own: the platform starts every sync (so
approvals and rollbacks mean something) and the namespaces belong to the tenant flow.
"""

from __future__ import annotations

from typing import Any

from idp.kube_names import MAX_LABEL
from idp.tenants.manifests import LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY

__all__ = [
    "IN_CLUSTER",
    "LABEL_APP",
    "LABEL_ENV",
    "PLATFORM_ROLE",
    "application",
    "application_name",
    "project",
    "project_name",
]

IN_CLUSTER = "https://kubernetes.default.svc"
PLATFORM_ROLE = "platform"
LABEL_APP = "idp.platform/app"
LABEL_ENV = "idp.platform/environment"

# Kinds only the platform manages in a tenant namespace (the tenant flow applies them).
_PLATFORM_OWNED = [
    {"group": "", "kind": "ResourceQuota"},
    {"group": "", "kind": "LimitRange"},
    {"group": "networking.k8s.io", "kind": "NetworkPolicy"},
]
_PLATFORM_ACTIONS = ("get", "create", "update", "delete", "sync", "override")


def project_name(tenant: str) -> str:
    return tenant


def application_name(tenant: str, app: str, env: str) -> str:
    """`<tenant>-<app>-<env>`: Argo CD uses it as a label value, so at most 63 characters."""
    name = f"{tenant}-{app}-{env}"
    if len(name) > MAX_LABEL:
        raise ValueError(f"Argo CD application name '{name}' would exceed {MAX_LABEL} characters; shorten the app name")
    return name


def _labels(tenant: str, **extra: str) -> dict[str, str]:
    return {LABEL_TENANT: tenant, LABEL_MANAGED_BY: MANAGED_BY, **extra}


def project(tenant: str, namespaces: list[str], repositories: list[str], *, server: str = IN_CLUSTER) -> dict[str, Any]:
    """The tenant's AppProject: its repositories, its namespaces, no cluster-scoped kinds."""
    name = project_name(tenant)
    return {
        "metadata": {"name": name, "labels": _labels(tenant)},
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


def application(
    tenant: str,
    app: str,
    env: str,
    *,
    repo_url: str,
    path: str,
    revision: str = "HEAD",
    server: str = IN_CLUSTER,
) -> dict[str, Any]:
    """One environment of an app, pointed at `revision`; synced only when the platform says so."""
    return {
        "metadata": {
            "name": application_name(tenant, app, env),
            "labels": _labels(tenant, **{LABEL_APP: app, LABEL_ENV: env}),
        },
        "spec": {
            "project": project_name(tenant),
            "source": {"repoURL": repo_url, "path": path, "targetRevision": revision},
            "destination": {"server": server, "namespace": f"{tenant}-{env}"},
            "syncPolicy": {
                "syncOptions": ["CreateNamespace=false", "PruneLast=true"],
                "retry": {"limit": 2, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}},
            },
        },
    }
