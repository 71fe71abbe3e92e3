"""Multi-step tenant work: database rows first, then Kubernetes, then the final status.

The row is committed before any object is created (never objects without a record) and
is marked ready only after every object exists (never a record that claims more than
exists). A Kubernetes failure leaves the tenant `not_ready` with the reason; repeating
the request, or reconciling, finishes the work because every step is create-or-update.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from idp.audit.service import record as audit
from idp.auth.permissions import Action, authorize
from idp.clients.kubernetes import KINDS, KubeClient, KubeError
from idp.db import Database
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


def create_tenant(db: Database, kube: KubeClient, caller: Caller, spec: TenantCreate) -> tuple[TenantRecord, bool]:
    """Creates the tenant with the caller as owner; returns (tenant, created).

    Repeating the same request as its owner is a retry: it finishes provisioning and
    returns the tenant (created=False). Any other request for a taken name is a 409.
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
            audit(db, caller, "tenant.create", spec.name, tenant=spec.name, details={"environments": spec.environments})
            created = True
        else:
            same_request = (
                existing.display_name == spec.display_name
                and existing.environments == spec.environments
                and existing.quotas == quotas
            )
            member = service.get_member(db, existing, caller.user_id)
            if not (same_request and member is not None and member.role == "owner"):
                raise Conflict(f"tenant '{spec.name}' already exists", details={"tenant": spec.name})
            tenant, created = existing, False
    return apply_tenant(db, kube, tenant), created


def update_tenant(db: Database, kube: KubeClient, caller: Caller, name: str, change: TenantUpdate) -> TenantRecord:
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
        tenant = service.update_tenant_spec(
            db,
            tenant,
            display_name=change.display_name or tenant.display_name,
            environments=environments,
            quotas=quotas,
        )
        audit(db, caller, "tenant.update", name, tenant=name, details=change.model_dump(exclude_none=True))
    return apply_tenant(db, kube, tenant)


def reconcile_tenant(db: Database, kube: KubeClient, caller: Caller, name: str) -> TenantRecord:
    with db.transaction():
        tenant = authorize(db, caller, name, Action.TENANT_RECONCILE)
        audit(db, caller, "tenant.reconcile", name, tenant=name)
    return apply_tenant(db, kube, tenant)


def delete_tenant(db: Database, kube: KubeClient, caller: Caller, name: str) -> TenantRecord:
    """Removes the namespaces, then keeps the row marked deleted for audit."""
    with db.transaction():
        tenant = authorize(db, caller, name, Action.TENANT_DELETE, for_update=True)
        tenant = service.set_status(db, tenant, "deleting")
        audit(db, caller, "tenant.delete", name, tenant=name)
    try:
        for ns in _tenant_namespaces(kube, tenant.name) | {tenant.namespace(e) for e in tenant.environments}:
            kube.delete(KINDS["Namespace"], ns)
    except KubeError as exc:
        with db.transaction():
            service.set_status(db, tenant, "deleting", f"Kubernetes failed while deleting: {exc.message}")
        raise _downstream(tenant, "delete", exc) from exc
    with db.transaction():
        return service.mark_deleted(db, tenant)


def add_member(
    db: Database, kube: KubeClient, caller: Caller, name: str, request: MemberCreate
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
    return member, apply_tenant(db, kube, tenant)


def remove_member(db: Database, kube: KubeClient, caller: Caller, name: str, user: str) -> TenantRecord:
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
    return apply_tenant(db, kube, tenant)


def apply_tenant(db: Database, kube: KubeClient, tenant: TenantRecord) -> TenantRecord:
    """Makes Kubernetes match the record (create-or-update, prune what we own but no longer want)."""
    with db.transaction():
        members = service.list_members(db, tenant)
    try:
        for env in tenant.environments:
            wanted = environment_objects(tenant.name, env, tenant.quotas.get(env) or Quota(), members)
            for obj in wanted:
                kube.apply(obj)
            _prune_bindings(kube, tenant, env, {o["metadata"]["name"] for o in wanted if o["kind"] == "RoleBinding"})
        for ns in _tenant_namespaces(kube, tenant.name) - {tenant.namespace(e) for e in tenant.environments}:
            kube.delete(KINDS["Namespace"], ns)
    except KubeError as exc:
        metrics().add_metric(name="TenantApplyFailed", unit=MetricUnit.Count, value=1)
        with db.transaction():
            service.set_status(db, tenant, "not_ready", f"Kubernetes failed: {exc.message}")
        raise _downstream(tenant, "apply", exc) from exc
    metrics().add_metric(name="TenantApplied", unit=MetricUnit.Count, value=1)
    with db.transaction():
        return service.set_status(db, tenant, "ready")


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


def _downstream(tenant: TenantRecord, step: str, exc: KubeError) -> DownstreamError:
    return DownstreamError(
        f"tenant '{tenant.name}' is recorded but Kubernetes failed during {step}: {exc.message}."
        " Retry the request (or POST /tenants/{tenant}/reconcile) to finish.",
        code="kubernetes_unavailable",
        details={"tenant": tenant.name, "status": "not_ready" if step == "apply" else "deleting"},
    )
