"""Namespace ownership: the platform touches a namespace only if it created it for that tenant.

Two records must agree before anything is applied in, or deleted from, a namespace:
PostgreSQL's `tenant_namespaces` row (one owner per namespace, by primary key) and the
namespace's own `idp.platform/tenant-id` label, which the platform writes when it creates
the namespace. A namespace that exists and is not the tenant's is never labelled, bound,
patched or deleted: the request gets 409 `namespace_taken` naming it. Reserved names (the
cluster's, the platform's, Argo CD's: the `RESERVED_NAMESPACES` setting) are refused with
422 before anything is written.

Namespaces created before ids were written carry only the tenant's name label; they are
adopted (given the id label) when the database records them as the tenant's, which the
migration that introduced ownership did for every tenant then alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.clients.kubernetes import KINDS, KubeClient, KubeConflict
from idp.db import Database
from idp.errors import Conflict, InvalidInput
from idp.kube_names import MAX_LABEL, namespace_name, reserved_pattern
from idp.tenants.manifests import LABEL_MANAGED_BY, LABEL_TENANT, LABEL_TENANT_ID, MANAGED_BY
from idp.tenants.service import TenantRecord

__all__ = [
    "OwnedNamespace",
    "check_names",
    "check_unclaimed",
    "claim",
    "ensure_namespace",
    "is_owned_by",
    "namespace_taken",
    "owned_namespaces",
    "release",
]

_NAMESPACE = KINDS["Namespace"]


@dataclass(frozen=True)
class OwnedNamespace:
    """A `tenant_namespaces` row."""

    namespace: str
    environment: str


def namespace_taken(namespace: str) -> Conflict:
    return Conflict(
        f"namespace '{namespace}' already exists and does not belong to this tenant;"
        " choose another tenant or environment name",
        code="namespace_taken",
        details={"namespace": namespace},
    )


def check_names(tenant: str, environments: list[str], reserved: list[str], *, field: str) -> None:
    """422 naming each namespace that is reserved or too long; nothing is written before this passes."""
    problems: list[dict[str, str]] = []
    for env in environments:
        namespace = namespace_name(tenant, env)
        pattern = reserved_pattern(namespace, reserved)
        if pattern is not None:
            problems.append(
                {"field": field, "namespace": namespace, "message": f"'{namespace}' is reserved ({pattern})"}
            )
        elif len(namespace) > MAX_LABEL:
            problems.append(
                {"field": field, "namespace": namespace, "message": f"'{namespace}' exceeds {MAX_LABEL} characters"}
            )
    if problems:
        raise InvalidInput(
            "namespace names not allowed: " + "; ".join(p["message"] for p in problems),
            code="namespace_reserved" if any("reserved" in p["message"] for p in problems) else "invalid_request",
            details=problems,
        )


def is_owned_by(live: dict[str, Any], tenant: TenantRecord) -> bool:
    """Whether a live namespace carries this tenant's id (or, from before ids, only its name)."""
    labels = (live.get("metadata") or {}).get("labels") or {}
    if LABEL_TENANT_ID in labels:
        return bool(labels[LABEL_TENANT_ID] == tenant.id)
    return labels.get(LABEL_TENANT) == tenant.name and labels.get(LABEL_MANAGED_BY) == MANAGED_BY


def check_unclaimed(kube: KubeClient, tenant: str, environments: list[str], owner: TenantRecord | None) -> None:
    """409 `namespace_taken` for the first namespace that exists and is not `owner`'s (any, when owner is None)."""
    for env in environments:
        namespace = namespace_name(tenant, env)
        live = kube.get(_NAMESPACE, namespace)
        if live is not None and (owner is None or not is_owned_by(live, owner)):
            raise namespace_taken(namespace)


def claim(db: Database, tenant: TenantRecord) -> None:
    """Records each of the tenant's namespaces as its own, in the caller's transaction.

    409 `namespace_taken` if another tenant, live or being deleted, holds one: the
    transaction is then rolled back by the caller and nothing is written.
    """
    for env in tenant.environments:
        namespace = tenant.namespace(env)
        row = db.row(
            "INSERT INTO tenant_namespaces (namespace, tenant_id, environment)"
            " VALUES (:namespace, CAST(:tenant AS uuid), :env)"
            " ON CONFLICT (namespace) DO NOTHING RETURNING namespace",
            namespace=namespace,
            tenant=tenant.id,
            env=env,
        )
        if row is None:
            owner = db.row(
                "SELECT tenant_id::text AS tenant_id FROM tenant_namespaces WHERE namespace = :namespace",
                namespace=namespace,
            )
            if owner is None or owner["tenant_id"] != tenant.id:
                raise namespace_taken(namespace)


def owned_namespaces(db: Database, tenant: TenantRecord) -> list[OwnedNamespace]:
    rows = db.rows(
        "SELECT namespace, environment FROM tenant_namespaces WHERE tenant_id = CAST(:tenant AS uuid)"
        " ORDER BY namespace",
        tenant=tenant.id,
    )
    return [OwnedNamespace(r["namespace"], r["environment"]) for r in rows]


def ensure_namespace(kube: KubeClient, tenant: TenantRecord, manifest: dict[str, Any]) -> None:
    """Creates the namespace, or brings the labels of the tenant's own up to date; 409 if it is someone else's."""
    name = manifest["metadata"]["name"]
    live = kube.get(_NAMESPACE, name)
    if live is None:
        try:
            kube.create(manifest)
            return
        except KubeConflict:  # created meanwhile, by us or by someone else: look again
            live = kube.get(_NAMESPACE, name)
            if live is None:
                raise
    if not is_owned_by(live, tenant):
        raise namespace_taken(name)
    kube.apply(manifest)  # merges our labels (the id label included) into our own namespace


def release(db: Database, kube: KubeClient, tenant: TenantRecord, owned: OwnedNamespace) -> None:
    """Deletes the namespace if it is still the tenant's, then forgets the claim.

    A namespace someone else re-created under the same name is left alone.
    """
    live = kube.get(_NAMESPACE, owned.namespace)
    if live is not None and is_owned_by(live, tenant):
        kube.delete(_NAMESPACE, owned.namespace)
    with db.transaction():
        db.run(
            "DELETE FROM tenant_namespaces WHERE namespace = :namespace AND tenant_id = CAST(:tenant AS uuid)",
            namespace=owned.namespace,
            tenant=tenant.id,
        )
