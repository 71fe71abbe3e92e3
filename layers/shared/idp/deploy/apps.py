"""Applications: their rows, and the flows that keep one Argo CD Application per environment.

As for tenants, the row is committed before anything is created in Argo CD and is marked
ready only once every Application exists. An Argo CD failure leaves the app `not_ready`
with the reason; repeating the same request finishes the work (every step is an upsert).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from idp.audit.service import record as audit
from idp.clients.argocd import ArgoCdClient, ArgoCdError
from idp.db import Database
from idp.deploy import argocd_objects
from idp.deploy.service import current_target_revision
from idp.errors import Conflict, DownstreamError, InvalidInput, NotFound
from idp.kube_names import namespace_name
from idp.principal import Caller
from idp.schemas.deploy import AppCreate, AppEnvironmentStatus, AppRead, AppStatus

if TYPE_CHECKING:  # the deploy poller reaches this module and needs no tenant models
    from idp.tenants.access import TenantAccess
    from idp.tenants.service import TenantRecord

__all__ = [
    "AppRecord",
    "create_app",
    "delete_app",
    "find_apps",
    "get_app",
    "get_app_by_id",
    "get_app_record",
    "list_apps",
    "mark_tenant_apps_deleted",
    "upsert_application",
]


class AppRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    id: str
    tenant_id: str
    tenant: str
    tenant_created_at: datetime
    name: str
    repo_url: str
    path: str
    environments: list[str]
    status: AppStatus
    status_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    def read(self, live: list[AppEnvironmentStatus] | None = None) -> AppRead:
        return AppRead.model_validate({**self.model_dump(), "live": live})

    def argocd_name(self, env: str) -> str:
        return argocd_objects.application_name(self.tenant, self.name, env)


_COLUMNS = (
    "a.id::text AS id, a.tenant_id::text AS tenant_id, t.name AS tenant, t.created_at AS tenant_created_at,"
    " a.name, a.repo_url, a.path,"
    " a.environments, a.status, a.status_reason, a.created_by, a.created_at, a.updated_at, a.deleted_at"
)


def _record(row: dict[str, Any]) -> AppRecord:
    if isinstance(row["environments"], str):
        row["environments"] = json.loads(row["environments"])
    return AppRecord.model_validate(row)


# -- rows -------------------------------------------------------------------------------
def _find(db: Database, tenant: TenantRecord, name: str, *, for_update: bool = False) -> AppRecord | None:
    row = db.row(
        f"SELECT {_COLUMNS} FROM apps a JOIN tenants t ON t.id = a.tenant_id"
        " WHERE a.tenant_id = CAST(:tenant AS uuid) AND a.name = :name AND a.deleted_at IS NULL"
        + (" FOR UPDATE OF a" if for_update else ""),
        tenant=tenant.id,
        name=name,
    )
    return _record(row) if row else None


def get_app_record(db: Database, tenant_record: TenantRecord, name: str, *, for_update: bool = False) -> AppRecord:
    """The tenant's live app called `name`; 404 `app_not_found` otherwise."""
    app = _find(db, tenant_record, name, for_update=for_update)
    if app is None:
        raise NotFound(
            f"app '{name}' not found in tenant '{tenant_record.name}'",
            code="app_not_found",
            details={"tenant": tenant_record.name, "app": name},
        )
    return app


def get_app_by_id(db: Database, app_id: str, *, for_update: bool = False) -> AppRecord | None:
    """The app row, deleted or not."""
    row = db.row(
        f"SELECT {_COLUMNS} FROM apps a JOIN tenants t ON t.id = a.tenant_id WHERE a.id = CAST(:id AS uuid)"
        + (" FOR UPDATE OF a" if for_update else ""),
        id=app_id,
    )
    return _record(row) if row else None


def _insert(db: Database, tenant: TenantRecord, spec: AppCreate, environments: list[str], created_by: str) -> AppRecord:
    row = db.row(
        "WITH a AS (INSERT INTO apps (tenant_id, name, repo_url, path, environments, created_by)"
        " VALUES (CAST(:tenant AS uuid), :name, :repo_url, :path, CAST(:environments AS jsonb), :created_by)"
        f" RETURNING *) SELECT {_COLUMNS} FROM a JOIN tenants t ON t.id = a.tenant_id",
        tenant=tenant.id,
        name=spec.name,
        repo_url=spec.repo_url,
        path=spec.path,
        environments=json.dumps(environments),
        created_by=created_by,
    )
    assert row is not None
    return _record(row)


def _set_status(db: Database, app: AppRecord, status: AppStatus, reason: str | None = None) -> AppRecord:
    deleted = ", deleted_at = now()" if status == "deleted" else ""
    row = db.row(
        f"WITH a AS (UPDATE apps SET status = :status, status_reason = :reason, updated_at = now(){deleted}"
        f" WHERE id = CAST(:id AS uuid) RETURNING *) SELECT {_COLUMNS} FROM a JOIN tenants t ON t.id = a.tenant_id",
        id=app.id,
        status=status,
        reason=reason,
    )
    assert row is not None
    return _record(row)


def mark_tenant_apps_deleted(db: Database, tenant_record: TenantRecord) -> None:
    """Marks every live app of a tenant deleted (the tenant flow removes the Argo CD project and apps)."""
    db.run(
        "UPDATE apps SET status = 'deleted', status_reason = 'tenant deleted', deleted_at = now(), updated_at = now()"
        " WHERE tenant_id = CAST(:id AS uuid) AND deleted_at IS NULL",
        id=tenant_record.id,
    )


# -- flows ------------------------------------------------------------------------------
def create_app(
    db: Database, argocd: ArgoCdClient, access: TenantAccess, spec: AppCreate, *, server: str
) -> tuple[AppRead, bool]:
    """Registers the app and creates its Argo CD Applications; returns (app, created).

    The same request again is a retry (created False) that finishes provisioning; another
    spec under a taken name is a 409.
    """
    with db.transaction():
        caller, tenant_record = access.caller, access.tenant
        tenant = tenant_record.name
        environments = _check_spec(db, tenant_record, spec)
        existing = _find(db, tenant_record, spec.name, for_update=True)
        if existing is None:
            app = _insert(db, tenant_record, spec, environments, caller.user_id)
            audit(
                db,
                caller,
                "app.create",
                spec.name,
                tenant=tenant_record,
                details={"repo_url": spec.repo_url, "path": spec.path, "environments": environments},
            )
            created = True
        else:
            if (existing.repo_url, existing.path, existing.environments) != (spec.repo_url, spec.path, environments):
                raise Conflict(
                    f"app '{spec.name}' already exists in tenant '{tenant}' with another repository, path or"
                    " environments",
                    code="app_exists",
                    details={"tenant": tenant, "app": spec.name},
                )
            if existing.status == "deleting":
                raise Conflict(
                    f"app '{spec.name}' is being deleted; finish with DELETE first", details={"app": spec.name}
                )
            app, created = existing, False
    return _apply(db, argocd, app, server=server).read(), created


def _check_spec(db: Database, tenant: TenantRecord, spec: AppCreate) -> list[str]:
    environments = spec.environments or list(tenant.environments)
    tenant.require_environments(environments, field="environments")
    for env in environments:
        try:
            argocd_objects.application_name(tenant.name, spec.name, env)
        except ValueError as exc:
            raise InvalidInput(str(exc), details=[{"field": "name", "message": str(exc)}]) from None
    from idp.tenants import service as tenants

    allowed = tenants.list_repositories(db, tenant)
    if spec.repo_url not in allowed:
        listing = ", ".join(allowed) if allowed else "none yet (an owner adds them with PATCH /tenants/{tenant})"
        raise InvalidInput(
            f"repository {spec.repo_url} is not one of tenant '{tenant.name}''s repositories; allowed: {listing}",
            code="repo_not_allowed",
            details=[{"field": "repo_url", "message": "not an allowed repository", "allowed": allowed}],
        )
    return environments


def _apply(db: Database, argocd: ArgoCdClient, app: AppRecord, *, server: str) -> AppRecord:
    """Upserts one Application per environment, keeping the revision the platform last deployed there."""
    with db.transaction():
        revisions = {env: current_target_revision(db, app.id, env) or "HEAD" for env in app.environments}
    try:
        for env in app.environments:
            upsert_application(argocd, app, env, revision=revisions[env], server=server)
    except Conflict as exc:
        with db.transaction():
            _set_status(db, app, "not_ready", exc.message)
        raise
    except ArgoCdError as exc:
        with db.transaction():
            _set_status(db, app, "not_ready", f"Argo CD failed: {exc.message}")
        raise type(exc)(
            f"app '{app.name}' is recorded but Argo CD failed: {exc.message}. Retry the same request to finish.",
            http_status=exc.http_status,
        ) from exc
    with db.transaction():
        return _set_status(db, app, "ready")


def upsert_application(argocd: ArgoCdClient, app: AppRecord, env: str, *, revision: str, server: str) -> None:
    """Creates or updates the app's Application in `env`; 409 if one of that name is another tenant's."""
    name = app.argocd_name(env)
    live = argocd.get_app(name)
    if live is not None and not argocd_objects.owned_by(live, app.tenant_id, app.tenant_created_at):
        raise argocd_objects.taken("application", name)
    argocd.upsert_app(
        argocd_objects.application(
            app.tenant,
            app.name,
            env,
            tenant_id=app.tenant_id,
            repo_url=app.repo_url,
            path=app.path,
            revision=revision,
            server=server,
        )
    )


def list_apps(db: Database, access: TenantAccess) -> list[AppRead]:
    with db.transaction():
        tenant_record = access.tenant
        rows = db.rows(
            f"SELECT {_COLUMNS} FROM apps a JOIN tenants t ON t.id = a.tenant_id"
            " WHERE a.tenant_id = CAST(:id AS uuid) AND a.deleted_at IS NULL ORDER BY a.name",
            id=tenant_record.id,
        )
    return [_record(r).read() for r in rows]


def find_apps(db: Database, caller: Caller, name: str | None) -> list[AppRead]:
    """Live apps (called `name` if given) of the caller's tenants: a service account's one tenant, all for admins."""
    if caller.platform_admin:
        scope, params = "", {}
    elif caller.kind == "service_account":
        scope, params = " AND t.id::text = :tenant_id", {"tenant_id": caller.tenant_id or ""}
    else:
        scope = " AND EXISTS (SELECT 1 FROM tenant_members m WHERE m.tenant_id = t.id AND m.user_id = :user)"
        params = {"user": caller.user_id}
    with db.transaction():
        rows = db.rows(
            f"SELECT {_COLUMNS} FROM apps a JOIN tenants t ON t.id = a.tenant_id"
            " WHERE a.deleted_at IS NULL AND t.deleted_at IS NULL"
            f" AND (CAST(:name AS text) IS NULL OR a.name = :name){scope} ORDER BY t.name, a.name",
            name=name,
            **params,
        )
    return [_record(r).read() for r in rows]


def get_app(db: Database, argocd: ArgoCdClient, access: TenantAccess, name: str) -> AppRead:
    """The app with Argo CD's live view of each environment (None fields when Argo CD cannot say)."""
    with db.transaction():
        app = get_app_record(db, access.tenant, name)
    return app.read(live=[_live(argocd, app, env) for env in app.environments])


def _live(argocd: ArgoCdClient, app: AppRecord, env: str) -> AppEnvironmentStatus:
    names = {"environment": env, "argocd_app": app.argocd_name(env), "namespace": namespace_name(app.tenant, env)}
    try:
        live = argocd.get_app(names["argocd_app"], project=argocd_objects.project_name(app.tenant))
    except ArgoCdError:
        live = None
    state = (live or {}).get("status") or {}
    sync, health, operation = state.get("sync") or {}, state.get("health") or {}, state.get("operationState") or {}
    history = state.get("history") or []
    return AppEnvironmentStatus.model_validate(
        {
            **names,
            "sync_status": sync.get("status"),
            "health_status": health.get("status"),
            "health_message": health.get("message"),
            "revision": sync.get("revision") or None,
            "operation_phase": operation.get("phase"),
            "operation_message": operation.get("message"),
            "last_deployed_at": history[-1].get("deployedAt") if history else None,
        }
    )


def delete_app(db: Database, argocd: ArgoCdClient, access: TenantAccess, name: str) -> AppRead:
    """Deletes the Argo CD Applications, then keeps the row marked deleted (its deployments stay readable)."""
    with db.transaction():
        app = get_app_record(db, access.tenant, name, for_update=True)
        app = _set_status(db, app, "deleting")
        audit(db, access.caller, "app.delete", name, tenant=access.tenant)
    try:
        for env in app.environments:
            argocd.delete_app(app.argocd_name(env))
    except ArgoCdError as exc:
        with db.transaction():
            _set_status(db, app, "deleting", f"Argo CD failed while deleting: {exc.message}")
        raise DownstreamError(
            f"app '{name}' is being deleted but Argo CD failed: {exc.message}. Retry the request to finish.",
            code=exc.code,
            details={"tenant": access.tenant.name, "app": name, "status": "deleting"},
        ) from exc
    with db.transaction():
        return _set_status(db, app, "deleted").read()
