"""The Argo CD Applications the platform owns: one per app and environment, in the tenant's project.

Applications carry the tenant's id like every Argo CD object the platform writes
(`idp.tenants.argocd_project`). They never sync on their own: the platform starts every sync
(so approvals and rollbacks mean something) and the namespaces belong to the tenant flow.
"""

from __future__ import annotations

from typing import Any

from idp.kube_names import MAX_LABEL, namespace_name
from idp.tenants.argocd_project import IN_CLUSTER, argocd_labels, owned_by, project_name, taken

__all__ = ["LABEL_APP", "LABEL_ENV", "application", "application_name", "owned_by", "project_name", "taken"]

LABEL_APP = "idp.platform/app"
LABEL_ENV = "idp.platform/environment"


def application_name(tenant: str, app: str, env: str) -> str:
    """`<tenant>-<app>-<env>`: Argo CD uses it as a label value, so at most 63 characters."""
    name = f"{tenant}-{app}-{env}"
    if len(name) > MAX_LABEL:
        raise ValueError(f"Argo CD application name '{name}' would exceed {MAX_LABEL} characters; shorten the app name")
    return name


def application(
    tenant: str,
    app: str,
    env: str,
    *,
    tenant_id: str,
    repo_url: str,
    path: str,
    revision: str = "HEAD",
    server: str = IN_CLUSTER,
) -> dict[str, Any]:
    """One environment of an app, pointed at `revision`; synced only when the platform says so."""
    return {
        "metadata": {
            "name": application_name(tenant, app, env),
            "labels": argocd_labels(tenant, tenant_id, **{LABEL_APP: app, LABEL_ENV: env}),
        },
        "spec": {
            "project": project_name(tenant),
            "source": {"repoURL": repo_url, "path": path, "targetRevision": revision},
            "destination": {"server": server, "namespace": namespace_name(tenant, env)},
            "syncPolicy": {
                "syncOptions": ["CreateNamespace=false", "PruneLast=true"],
                "retry": {"limit": 2, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}},
            },
        },
    }
