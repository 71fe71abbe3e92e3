"""Multi-step tenant work: database rows first, then Kubernetes and Argo CD, then the final status.

The row is committed before any object is created (never objects without a record) and
is marked ready only after every object exists (never a record that claims more than
exists). A Kubernetes or Argo CD failure leaves the tenant `not_ready` with the reason;
repeating the request, or reconciling, finishes the work because every step is
create-or-update. The tenant's Argo CD AppProject is rewritten from the record on every
apply, so a deleted or hand-edited project is repaired.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from idp.audit.service import record as audit
from idp.auth.permissions import Action, authorize
from idp.clients.argocd import ArgoCdClient, ArgoCdError
from idp.clients.kubernetes import KINDS, KubeClient, KubeError
from idp.db import Database
from idp.deploy import argocd_objects
from idp.errors import Conflict, DownstreamError, InvalidInput, NotFound
from idp.http.caller import Caller
from idp.kube_names import MAX_LABEL
from idp.observability import metrics
from idp.tenants import service
from idp.tenants.manifests import LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY, environment_objects
from idp.tenants.models import MemberCreate, MemberRead, Quota, TenantCreate, TenantUpdate
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
    db: Database, kube: KubeClient, argocd: ArgoCdClient, caller: Caller, spec: TenantCreate, *, server: str
) -> tuple[TenantRecord, bool]:
    """Creates the tenant with the caller as owner; returns (tenant, created).

    Repeating the same request as its owner is a retry: it finishes provisioning and
    returns the tenant (created=False). Any other request for a taken name is a 409.
    `server` is the cluster Argo CD deploys the tenant's applications to.
    """
    quotas = spec.full_quotas()
    with db.transaction():
        existing = service.find_tenant(db, spec.name)
        if existing is None:
            tenant = service.insert_tenant(
                db,
                name=spec.name,
                display_name=spec.display_name,
                environments=spec.environments,
                quotas=quotas,
                created_by=caller.user_id,
            )
            service.add_member(db, tenant, user=caller.user_id, role="owner", added_by=caller.user_id)
            repositories = service.set_repositories(db, tenant, spec.repositories, added_by=caller.user_id)
            tenant = tenant.model_copy(update={"repositories": repositories})
            details = {"environments": spec.environments, "repositories": repositories}
            audit(db, caller, "tenant.create", spec.name, tenant=spec.name, details=details)
            created = True
        else:
            same_request = (
                existing.display_name == spec.display_name
                and existing.environments == spec.environments
                and existing.quotas == quotas
                and sorted(existing.repositories) == sorted(spec.repositories)
            )
            member = service.get_member(db, existing, caller.user_id)
            if not (same_request and member is not None and member.role == "owner"):
                raise Conflict(f"tenant '{spec.name}' already exists", details={"tenant": spec.name})
            tenant, created = existing, False
    return apply_tenant(db, kube, argocd, tenant, server=server), created


def update_tenant(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    caller: Caller,
    name: str,
    change: TenantUpdate,
    *,
    server: str,
) -> TenantRecord:
    """Changes what `change` names; `repositories`, when given, replaces the whole list."""
    with db.transaction():
        tenant = authorize(db, caller, name, Action.TENANT_UPDATE, for_update=True)
        environments = change.environments or tenant.environments
        too_long = [env for env in environments if len(name) + 1 + len(env) > MAX_LABEL]
        if too_long:
            raise InvalidInput(
                f"namespace '{name}-{too_long[0]}' would exceed {MAX_LABEL} characters",
                details=[{"field": "environments", "message": "environment name too long for this tenant"}],
            )
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
        if change.repositories is not None:
            repositories = service.set_repositories(db, tenant, change.repositories, added_by=caller.user_id)
            tenant = tenant.model_copy(update={"repositories": repositories})
            details["repositories_added"] = sorted(set(repositories) - set(before))
            details["repositories_removed"] = sorted(set(before) - set(repositories))
        audit(db, caller, "tenant.update", name, tenant=name, details=details)
    return apply_tenant(db, kube, argocd, tenant, server=server)


def reconcile_tenant(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, caller: Caller, name: str, *, server: str
) -> TenantRecord:
    with db.transaction():
        tenant = authorize(db, caller, name, Action.TENANT_RECONCILE)
        audit(db, caller, "tenant.reconcile", name, tenant=name)
    return apply_tenant(db, kube, argocd, tenant, server=server)


def delete_tenant(db: Database, kube: KubeClient, argocd: ArgoCdClient, caller: Caller, name: str) -> TenantRecord:
    """Removes the Argo CD applications and project, then the namespaces; keeps the row marked deleted for audit."""
    from idp.deploy.apps import mark_tenant_apps_deleted  # deploy builds on tenants: import at use

    with db.transaction():
        tenant = authorize(db, caller, name, Action.TENANT_DELETE, for_update=True)
        tenant = service.set_status(db, tenant, "deleting")
        audit(db, caller, "tenant.delete", name, tenant=name)
    try:
        project = argocd_objects.project_name(tenant.name)
        for app in argocd.list_apps(project=project):
            # Only this project's applications, whatever the server's filter did.
            if app.get("spec", {}).get("project") == project:
                argocd.delete_app(app["metadata"]["name"])
        argocd.delete_project(project)
    except ArgoCdError as exc:
        with db.transaction():
            service.set_status(db, tenant, "deleting", f"Argo CD failed while deleting: {exc.message}")
        raise _downstream(tenant, "delete", "Argo CD", exc) from exc
    try:
        for ns in _tenant_namespaces(kube, tenant.name) | set(tenant.namespaces()):
            kube.delete(KINDS["Namespace"], ns)
    except KubeError as exc:
        with db.transaction():
            service.set_status(db, tenant, "deleting", f"Kubernetes failed while deleting: {exc.message}")
        raise _downstream(tenant, "delete", "Kubernetes", exc) from exc
    with db.transaction():
        mark_tenant_apps_deleted(db, tenant)
        return service.mark_deleted(db, tenant)


def add_member(
    db: Database,
    kube: KubeClient,
    argocd: ArgoCdClient,
    caller: Caller,
    name: str,
    request: MemberCreate,
    *,
    server: str,
) -> tuple[MemberRead, TenantRecord]:
    with db.transaction():
        tenant = authorize(db, caller, name, Action.MEMBERS_MANAGE, for_update=True)
        current = service.get_member(db, tenant, request.user)
        touches_owner = request.role == "owner" or (current is not None and current.role == "owner")
        if touches_owner:
            authorize(db, caller, name, Action.OWNERS_MANAGE)
        if current is not None and current.role == "owner" and request.role != "owner":
            _keep_an_owner(db, tenant)
        member = service.add_member(db, tenant, user=request.user, role=request.role, added_by=caller.user_id)
        audit(
            db,
            caller,
            "member.add" if current is None else "member.role_change",
            request.user,
            tenant=name,
            details={"role": request.role, "previous_role": current.role if current else None},
        )
    return member, apply_tenant(db, kube, argocd, tenant, server=server)


def remove_member(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, caller: Caller, name: str, user: str, *, server: str
) -> TenantRecord:
    with db.transaction():
        tenant = authorize(db, caller, name, Action.MEMBERS_MANAGE, for_update=True)
        current = service.get_member(db, tenant, user)
        if current is None:
            raise NotFound(f"'{user}' is not a member of tenant '{name}'", details={"tenant": name, "user": user})
        if current.role == "owner":
            authorize(db, caller, name, Action.OWNERS_MANAGE)
            _keep_an_owner(db, tenant)
        service.remove_member(db, tenant, user)
        audit(db, caller, "member.remove", user, tenant=name, details={"previous_role": current.role})
    return apply_tenant(db, kube, argocd, tenant, server=server)


def apply_tenant(
    db: Database, kube: KubeClient, argocd: ArgoCdClient, tenant: TenantRecord, *, server: str
) -> TenantRecord:
    """Makes Kubernetes, then the Argo CD project, match the record (create-or-update, prune what we own)."""
    with db.transaction():
        members = service.list_members(db, tenant)
    try:
        for env in tenant.environments:
            wanted = environment_objects(tenant.name, env, tenant.quotas.get(env) or Quota(), members)
            for obj in wanted:
                kube.apply(obj)
            _prune_bindings(kube, tenant, env, {o["metadata"]["name"] for o in wanted if o["kind"] == "RoleBinding"})
        for ns in _tenant_namespaces(kube, tenant.name) - set(tenant.namespaces()):
            kube.delete(KINDS["Namespace"], ns)
    except KubeError as exc:
        raise _apply_failed(db, tenant, "Kubernetes", exc) from exc
    try:
        _apply_project(argocd, tenant, server)
    except ArgoCdError as exc:
        raise _apply_failed(db, tenant, "Argo CD", exc) from exc
    metrics().add_metric(name="TenantApplied", unit=MetricUnit.Count, value=1)
    with db.transaction():
        return service.set_status(db, tenant, "ready")


def _apply_project(argocd: ArgoCdClient, tenant: TenantRecord, server: str) -> None:
    """Upserts the tenant's AppProject from the record; issued role tokens survive the rewrite."""
    wanted = argocd_objects.project(tenant.name, tenant.namespaces(), tenant.repositories, server=server)
    live = argocd.get_project(argocd_objects.project_name(tenant.name))
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


def _prune_bindings(kube: KubeClient, tenant: TenantRecord, env: str, wanted: set[str]) -> None:
    selector = f"{LABEL_TENANT}={tenant.name},{LABEL_MANAGED_BY}={MANAGED_BY}"
    for binding in kube.list(KINDS["RoleBinding"], tenant.namespace(env), label_selector=selector):
        name = binding["metadata"]["name"]
        if name not in wanted:
            kube.delete(KINDS["RoleBinding"], name, tenant.namespace(env))


def _tenant_namespaces(kube: KubeClient, tenant: str) -> set[str]:
    selector = f"{LABEL_TENANT}={tenant},{LABEL_MANAGED_BY}={MANAGED_BY}"
    return {ns["metadata"]["name"] for ns in kube.list(KINDS["Namespace"], label_selector=selector)}


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
