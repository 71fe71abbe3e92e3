"""HTTP routes for tenants and members: parse, call the flow, shape the answer."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from idp import deps
from idp.api import context
from idp.api.contract import answers
from idp.config import get_settings
from idp.deploy.apps import mark_tenant_apps_deleted
from idp.schemas.tenants import MemberCreate, MemberRead, TenantCreate, TenantRead, TenantUpdate
from idp.tenants import flows, service
from idp.tenants.service import TenantRecord

__all__ = ["router"]

router = Router()

_NOT_READY = (
    "kubernetes_unavailable / argocd_*: Kubernetes or Argo CD failed; the tenant is kept not_ready with the"
    " reason, and a retry (or POST .../reconcile) finishes it"
)
_TAKEN = (
    "namespace_taken / argocd_project_taken: a namespace or Argo CD project of that name exists and is not"
    " this tenant's"
)
_KEEP_AN_OWNER = "conflict: the tenant must keep at least one owner"

TenantName = Annotated[str, Path(min_length=1, max_length=63, description="tenant name")]


def _server() -> str:
    """The cluster the tenants' Argo CD applications deploy to, as Argo CD names it."""
    return get_settings().argocd_destination_server


def to_read(tenant: TenantRecord) -> TenantRead:
    return TenantRead(
        id=tenant.id,
        name=tenant.name,
        display_name=tenant.display_name,
        environments=tenant.environments,
        quotas=tenant.quotas,
        namespaces={env: tenant.namespace(env) for env in tenant.environments},
        repositories=tenant.repositories,
        status=tenant.status,
        status_reason=tenant.status_reason,
        created_by=tenant.created_by,
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
        deleted_at=tenant.deleted_at,
    )


@router.post(
    "/tenants",
    summary="Create a tenant with its namespaces, quotas, policies and bindings",
    responses=answers(
        {201: "Created, ready", 200: "Repeated by its owner: an interrupted create finished, or nothing changed"},
        errors={409: f"conflict: a tenant of that name exists (another's, or different); {_TAKEN}", 502: _NOT_READY},
    ),
)
def create_tenant(body: TenantCreate) -> tuple[TenantRead, int]:
    tenant, created = flows.create_tenant(
        deps.database(), deps.kube(), deps.argocd(), context.caller(router), body, server=_server()
    )
    return to_read(tenant), 201 if created else 200


@router.get("/tenants", summary="Tenants the caller belongs to (all of them for platform admins)")
def list_tenants() -> list[TenantRead]:
    caller = context.caller(router)
    db = deps.database()
    with db.transaction():
        if caller.kind == "service_account":  # a service account belongs to exactly one tenant
            found = service.get_tenant_by_id(db, caller.tenant_id or "")
            tenants = [found] if found else []
        else:
            tenants = service.list_tenants(db, member=None if caller.platform_admin else caller.user_id)
    return [to_read(t) for t in tenants]


@router.get("/tenants/<tenant>", summary="One tenant")
def get_tenant(tenant: TenantName) -> TenantRead:
    return to_read(context.access(router).tenant)


@router.patch(
    "/tenants/<tenant>",
    summary="Change display name, environments, quotas or repositories",
    responses=answers({200: "The tenant as changed"}, errors={409: _TAKEN, 502: _NOT_READY}),
)
def update_tenant(tenant: TenantName, body: TenantUpdate) -> TenantRead:
    updated = flows.update_tenant(
        deps.database(), deps.kube(), deps.argocd(), context.access(router), body, server=_server()
    )
    return to_read(updated)


@router.delete(
    "/tenants/<tenant>",
    summary="Delete the tenant's Argo CD apps, project and namespaces; the record stays",
    responses=answers(
        {200: "The tenant, deleted"},
        errors={502: "kubernetes_unavailable / argocd_*: Kubernetes or Argo CD failed part-way; retry the delete"},
    ),
)
def delete_tenant(tenant: TenantName) -> TenantRead:
    return to_read(
        flows.delete_tenant(
            deps.database(), deps.kube(), deps.argocd(), context.access(router), on_deleted=mark_tenant_apps_deleted
        )
    )


@router.post(
    "/tenants/<tenant>/reconcile",
    summary="Repair drift between the record and Kubernetes / Argo CD",
    responses=answers({200: "The tenant, reconciled"}, errors={409: _TAKEN, 502: _NOT_READY}),
)
def reconcile_tenant(tenant: TenantName) -> TenantRead:
    return to_read(
        flows.reconcile_tenant(deps.database(), deps.kube(), deps.argocd(), context.access(router), server=_server())
    )


@router.get("/tenants/<tenant>/members", summary="Members and their roles")
def list_members(tenant: TenantName) -> list[MemberRead]:
    db = deps.database()
    with db.transaction():
        return service.list_members(db, context.access(router).tenant)


@router.post(
    "/tenants/<tenant>/members",
    summary="Add a member or change their role",
    responses=answers({201: "The member, with their role"}, errors={409: _KEEP_AN_OWNER, 502: _NOT_READY}),
)
def add_member(tenant: TenantName, body: MemberCreate) -> tuple[MemberRead, int]:
    db, kube, argocd = deps.database(), deps.kube(), deps.argocd()
    member, _ = flows.add_member(db, kube, argocd, context.access(router), body, server=_server())
    return member, 201


@router.delete(
    "/tenants/<tenant>/members/<user>",
    summary="Remove a member",
    responses=answers(
        {200: "The tenant without the member"},
        errors={404: "not_found: the user is not a member", 409: _KEEP_AN_OWNER, 502: _NOT_READY},
    ),
)
def remove_member(tenant: TenantName, user: Annotated[str, Path(min_length=1, max_length=254)]) -> TenantRead:
    db, kube, argocd = deps.database(), deps.kube(), deps.argocd()
    return to_read(flows.remove_member(db, kube, argocd, context.access(router), user, server=_server()))
