"""Multi-step tenant work: database rows first, then Kubernetes and Argo CD, then the final status.

The row is committed before any object is created (never objects without a record) and
is marked ready only after every object exists (never a record that claims more than
exists). A Kubernetes or Argo CD failure leaves the tenant `not_ready` with the reason;
repeating the request, or reconciling, finishes the work because every step is
create-or-update. The tenant's Argo CD AppProject is rewritten from the record on every
apply, so a deleted or hand-edited project is repaired.

Ownership (`idp.tenants.namespaces`): reserved namespace names are refused (422) and a
namespace that exists for someone else is refused (409 `namespace_taken`) before the row
is written; the row and the namespace claims commit together, so two tenants can never
claim one namespace. Every apply checks the claim and the namespace's id label again
before touching it, and delete removes only namespaces that pass the same check. The
Argo CD project and applications carry the tenant's id too, and one left by another
tenant of the same name is never adopted (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from idp.audit.service import record as audit
from idp.clients.argocd import ArgoCdClient, ArgoCdError
from idp.clients.kubernetes import KINDS, KubeClient, KubeError
from idp.config import get_settings
from idp.db import Database
from idp.errors import Conflict, DownstreamError, InvalidInput, NotFound
from idp.observability import metrics
from idp.principal import Caller
from idp.schemas.tenants import MemberCreate, MemberRead, Quota, TenantCreate, TenantUpdate
from idp.tenants import argocd_project, namespaces, service
from idp.tenants.access import Action, TenantAccess
from idp.tenants.manifests import LABEL_MANAGED_BY, MANAGED_BY, environment_objects
from idp.tenants.service import TenantRecord

__all__ = [
    "add_member",
    "apply_tenant",
    "create_tenant",
    "delete_tenant",
    "reconcile_tenant",
    "remove_member",
    "update_tenant",
]


def create_tenant(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    caller: Caller,
    spec: TenantCreate,
    *,
    server: str,
    reserved: list[str] | None = None,
) -> tuple[TenantRecord, bool]:
    """Creates the tenant with the caller as owner; returns (tenant, created).

    Repeating the same request as its owner is a retry: it finishes provisioning and
    returns the tenant (created=False). Any other request for a taken name is a 409, and
    so is a namespace that already exists for someone else (nothing is written then).
    `server` is the cluster Argo CD deploys the tenant's applications to; `reserved` the
    namespace patterns no tenant may have (default: the `RESERVED_NAMESPACES` setting).
    """
    quotas = spec.full_quotas()
    namespaces.check_names(spec.name, spec.environments, _reserved(reserved), field="environments")
    with db.transaction():
        existing = service.find_tenant(db, spec.name)
        if existing is not None:
            _check_retry(db, caller, existing, spec, quotas)
    if existing is not None:
        return apply_tenant(db, kube, argocd, existing, server=server), False
    _check_unclaimed(kube, spec.name, spec.environments, owner=None)
    with db.transaction():
        tenant = service.insert_tenant(
            db,
            name=spec.name,
            display_name=spec.display_name,
            environments=spec.environments,
            quotas=quotas,
            created_by=caller.user_id,
        )
        namespaces.claim(db, tenant)
        service.add_member(db, tenant, user=caller.user_id, role="owner", added_by=caller.user_id)
        repositories = service.set_repositories(db, tenant, spec.repositories, added_by=caller.user_id)
        tenant = tenant.model_copy(update={"repositories": repositories})
        details = {"environments": spec.environments, "repositories": repositories}
        audit(db, caller, "tenant.create", spec.name, tenant=tenant, details=details)
    return apply_tenant(db, kube, argocd, tenant, server=server), True


def _check_retry(
    db: Database, caller: Caller, existing: TenantRecord, spec: TenantCreate, quotas: dict[str, Quota]
) -> None:
    """A repeated create is a retry only when it is the same request by an owner; else 409."""
    same_request = (
        existing.display_name == spec.display_name
        and existing.environments == spec.environments
        and existing.quotas == quotas
        and sorted(existing.repositories) == sorted(spec.repositories)
    )
    member = service.get_member(db, existing, caller.user_id)
    if not (same_request and member is not None and member.role == "owner"):
        raise Conflict(f"tenant '{spec.name}' already exists", details={"tenant": spec.name})


def _check_unclaimed(kube: KubeClient, tenant: str, environments: list[str], owner: TenantRecord | None) -> None:
    """409 for a namespace that exists and is not `owner`'s; 502 if Kubernetes cannot say. Writes nothing."""
    try:
        namespaces.check_unclaimed(kube, tenant, environments, owner)
    except KubeError as exc:
        raise DownstreamError(
            f"Kubernetes failed while checking tenant '{tenant}''s namespaces: {exc.message}. Nothing was written;"
            " retry the request.",
            code="kubernetes_unavailable",
            details={"tenant": tenant},
        ) from exc


def _reserved(reserved: list[str] | None) -> list[str]:
    return list(get_settings().reserved_namespaces if reserved is None else reserved)


def update_tenant(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    access: TenantAccess,
    change: TenantUpdate,
    *,
    server: str,
    reserved: list[str] | None = None,
) -> TenantRecord:
    """Changes what `change` names; `repositories`, when given, replaces the whole list.

    New environments get the same checks as a create (reserved 422, taken 409) before
    anything is written.
    """
    caller, tenant, name = access.caller, access.tenant, access.tenant.name
    environments = change.environments or tenant.environments
    added = [env for env in environments if env not in tenant.environments]
    namespaces.check_names(name, added, _reserved(reserved), field="environments")
    _check_unclaimed(kube, name, added, owner=tenant)
    with db.transaction():
        tenant = service.lock_tenant(db, tenant)
        quotas = {env: tenant.quotas.get(env) or Quota() for env in environments}
        for env, quota in (change.quotas or {}).items():
            if env not in environments:
                raise InvalidInput(
                    f"quotas name an environment the tenant does not have: {env}",
                    details=[{"field": f"quotas.{env}", "message": "unknown environment"}],
                )
            quotas[env] = quota
        details = change.model_dump(exclude_none=True)
        before = tenant.repositories
        tenant = service.update_tenant_spec(
            db,
            tenant,
            display_name=change.display_name or tenant.display_name,
            environments=environments,
            quotas=quotas,
        )
        namespaces.claim(db, tenant)
        if change.repositories is not None:
            repositories = service.set_repositories(db, tenant, change.repositories, added_by=caller.user_id)
            tenant = tenant.model_copy(update={"repositories": repositories})
            details["repositories_added"] = sorted(set(repositories) - set(before))
            details["repositories_removed"] = sorted(set(before) - set(repositories))
        audit(db, caller, "tenant.update", name, tenant=tenant, details=details)
    return apply_tenant(db, kube, argocd, tenant, server=server)


def reconcile_tenant(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, access: TenantAccess, *, server: str
) -> TenantRecord:
    with db.transaction():
        tenant = service.lock_tenant(db, access.tenant)
        audit(db, access.caller, "tenant.reconcile", tenant.name, tenant=tenant)
    return apply_tenant(db, kube, argocd, tenant, server=server)


def delete_tenant(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    access: TenantAccess,
    *,
    on_deleted: Callable[[Database, TenantRecord], None] | None = None,
) -> TenantRecord:
    """Removes the Argo CD applications and project, then the namespaces; keeps the row marked deleted for audit.

    Only what is the tenant's goes: Argo CD objects carrying its id, namespaces it claims
    that still carry its id (one re-created by someone else is left alone). `on_deleted`
    runs in the transaction that marks the tenant deleted: the seam through which the
    domains built on tenants (deploy: the tenant's apps) retire their rows.
    """
    with db.transaction():
        tenant = service.set_status(db, service.lock_tenant(db, access.tenant), "deleting")
        audit(db, access.caller, "tenant.delete", tenant.name, tenant=tenant)
    try:
        project = argocd_project.project_name(tenant.name)
        for app in argocd.list_apps(project=project):
            # Only this project's applications that are this tenant's, whatever the server's filter did.
            if app.get("spec", {}).get("project") == project and _owned(app, tenant):
                argocd.delete_app(app["metadata"]["name"])
        live = argocd.get_project(project)
        if live is not None and _owned(live, tenant):
            argocd.delete_project(project)
    except ArgoCdError as exc:
        with db.transaction():
            service.set_status(db, tenant, "deleting", f"Argo CD failed while deleting: {exc.message}")
        raise _downstream(tenant, "delete", "Argo CD", exc) from exc
    try:
        with db.transaction():
            owned = namespaces.owned_namespaces(db, tenant)
        for namespace in owned:
            namespaces.release(db, kube, tenant, namespace)
    except KubeError as exc:
        with db.transaction():
            service.set_status(db, tenant, "deleting", f"Kubernetes failed while deleting: {exc.message}")
        raise _downstream(tenant, "delete", "Kubernetes", exc) from exc
    with db.transaction():
        if on_deleted is not None:
            on_deleted(db, tenant)
        return service.mark_deleted(db, tenant)


def add_member(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    access: TenantAccess,
    request: MemberCreate,
    *,
    server: str,
) -> tuple[MemberRead, TenantRecord]:
    caller = access.caller
    with db.transaction():
        tenant = service.lock_tenant(db, access.tenant)
        current = service.get_member(db, tenant, request.user)
        touches_owner = request.role == "owner" or (current is not None and current.role == "owner")
        if touches_owner:
            access.require(Action.OWNERS_MANAGE)
        if current is not None and current.role == "owner" and request.role != "owner":
            _keep_an_owner(db, tenant)
        member = service.add_member(db, tenant, user=request.user, role=request.role, added_by=caller.user_id)
        audit(
            db,
            caller,
            "member.add" if current is None else "member.role_change",
            request.user,
            tenant=tenant,
            details={"role": request.role, "previous_role": current.role if current else None},
        )
    return member, apply_tenant(db, kube, argocd, tenant, server=server)


def remove_member(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, access: TenantAccess, user: str, *, server: str
) -> TenantRecord:
    caller, name = access.caller, access.tenant.name
    with db.transaction():
        tenant = service.lock_tenant(db, access.tenant)
        current = service.get_member(db, tenant, user)
        if current is None:
            raise NotFound(f"'{user}' is not a member of tenant '{name}'", details={"tenant": name, "user": user})
        if current.role == "owner":
            access.require(Action.OWNERS_MANAGE)
            _keep_an_owner(db, tenant)
        service.remove_member(db, tenant, user)
        audit(db, caller, "member.remove", user, tenant=tenant, details={"previous_role": current.role})
    return apply_tenant(db, kube, argocd, tenant, server=server)


def apply_tenant(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, tenant: TenantRecord, *, server: str
) -> TenantRecord:
    """Makes Kubernetes, then the Argo CD project, match the record (create-or-update, prune what we own).

    A namespace of the tenant's that someone else holds leaves the tenant `not_ready` with
    a 409 `namespace_taken`; nothing is applied in it.
    """
    try:
        with db.transaction():
            members = service.list_members(db, tenant)
            namespaces.claim(db, tenant)
            owned = namespaces.owned_namespaces(db, tenant)
        for env in tenant.environments:
            quota = tenant.quotas.get(env) or Quota()
            namespace, *inside = environment_objects(tenant.name, env, quota, members, tenant_id=tenant.id)
            namespaces.ensure_namespace(kube, tenant, namespace)
            for obj in inside:
                kube.apply(obj)
            _prune_bindings(kube, tenant, env, {o["metadata"]["name"] for o in inside if o["kind"] == "RoleBinding"})
        for gone in (o for o in owned if o.environment not in tenant.environments):
            namespaces.release(db, kube, tenant, gone)
    except KubeError as exc:
        raise _apply_failed(db, tenant, "Kubernetes", exc) from exc
    except Conflict as exc:
        with db.transaction():
            service.set_status(db, tenant, "not_ready", exc.message)
        raise
    try:
        _apply_project(argocd, tenant, server)
    except ArgoCdError as exc:
        raise _apply_failed(db, tenant, "Argo CD", exc) from exc
    except Conflict as exc:
        with db.transaction():
            service.set_status(db, tenant, "not_ready", exc.message)
        raise
    metrics().add_metric(name="TenantApplied", unit=MetricUnit.Count, value=1)
    with db.transaction():
        return service.set_status(db, tenant, "ready")


def _apply_project(argocd: ArgoCdClient, tenant: TenantRecord, server: str) -> None:
    """Upserts the tenant's AppProject from the record; issued role tokens survive the rewrite.

    A project of the same name that carries another tenant's id is never adopted (409).
    """
    wanted = argocd_project.project(
        tenant.name, tenant.namespaces(), tenant.repositories, server=server, tenant_id=tenant.id
    )
    live = argocd.get_project(argocd_project.project_name(tenant.name))
    if live is not None and not _owned(live, tenant):
        raise argocd_project.taken("project", argocd_project.project_name(tenant.name))
    if live is not None:
        issued = {
            role.get("name"): role["jwtTokens"]
            for role in (live.get("spec") or {}).get("roles") or []
            if isinstance(role, dict) and role.get("jwtTokens")
        }
        for role in wanted["spec"]["roles"]:
            if role["name"] in issued:
                role["jwtTokens"] = issued[role["name"]]
    argocd.upsert_project(wanted)


def _owned(obj: dict[str, Any], tenant: TenantRecord) -> bool:
    return argocd_project.owned_by(obj, tenant.id, tenant.created_at)


def _prune_bindings(kube: KubeClient, tenant: TenantRecord, env: str, wanted: set[str]) -> None:
    # The namespace was just checked to be the tenant's: every binding the platform manages there is its own.
    selector = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
    for binding in kube.list(KINDS["RoleBinding"], tenant.namespace(env), label_selector=selector):
        name = binding["metadata"]["name"]
        if name not in wanted:
            kube.delete(KINDS["RoleBinding"], name, tenant.namespace(env))


def _keep_an_owner(db: Database, tenant: TenantRecord) -> None:
    if service.count_owners(db, tenant) <= 1:
        raise Conflict(
            f"tenant '{tenant.name}' must keep at least one owner; add another owner first",
            details={"tenant": tenant.name},
        )


def _apply_failed(db: Database, tenant: TenantRecord, system: str, exc: KubeError | ArgoCdError) -> DownstreamError:
    metrics().add_metric(name="TenantApplyFailed", unit=MetricUnit.Count, value=1)
    with db.transaction():
        service.set_status(db, tenant, "not_ready", f"{system} failed: {exc.message}")
    return _downstream(tenant, "apply", system, exc)


def _downstream(tenant: TenantRecord, step: str, system: str, exc: KubeError | ArgoCdError) -> DownstreamError:
    code = exc.code if isinstance(exc, ArgoCdError) else "kubernetes_unavailable"
    finish = (
        f"Retry the request (or POST /tenants/{tenant.name}/reconcile) to finish."
        if step == "apply"
        else "Retry the delete to finish."
    )
    return DownstreamError(
        f"tenant '{tenant.name}' is recorded but {system} failed during {step}: {exc.message}. {finish}",
        code=code,
        details={"tenant": tenant.name, "status": "not_ready" if step == "apply" else "deleting"},
    )
