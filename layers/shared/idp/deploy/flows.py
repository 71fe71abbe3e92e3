"""Deployments: requests, rollbacks and reads, for every front end (decisions and the approval
policy are `idp.deploy.approvals`).

Each request commits with its audit entry and its Slack outbox row (only when the deployment
has a slack_channel); after the commit the notifier, when given, delivers that deployment's
rows (the poller delivers whatever is left). A deployment that needs no approval is started
at once through `tracking.start_sync` (the poller's own function). If Argo CD fails at that
moment the request stands: the deployment stays `approved` with the reason in `message` and
the poller starts it later; the request still answers with that state (no error: nothing the
caller could retry would help).

`authorized_deployment`, `read_deployment` and `tenant_policy` are shared with `approvals`.

`config` (approval defaults, destination server) defaults to the settings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from idp.audit.service import record as audit
from idp.clients.argocd import ArgoCdClient
from idp.db import Database
from idp.deploy import outbox, service, tracking
from idp.deploy.apps import AppRecord, get_app_record
from idp.deploy.policy import DeployConfig, effective_policy, needs_approval
from idp.deploy.service import DeploymentRecord
from idp.errors import Conflict, InvalidInput, NotFound
from idp.principal import Caller
from idp.schemas.deploy import DeploymentCreate, DeploymentKind, DeploymentRead, DeployPolicyRead, RollbackCreate
from idp.tenants import service as tenants
from idp.tenants.access import TenantAccess
from idp.tenants.service import TenantRecord

if TYPE_CHECKING:
    from idp.deploy.notifications import Notifier

__all__ = [
    "authorized_deployment",
    "deployment_not_found",
    "deployment_tenant_id",
    "get_deployment",
    "list_deployments",
    "read_deployment",
    "request_deployment",
    "request_rollback",
    "tenant_policy",
]

MAX_IDEMPOTENCY_KEY = 200


def _fingerprint(**fields: str | None) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def deployment_not_found(deployment_id: str) -> NotFound:
    return NotFound(
        f"deployment '{deployment_id}' not found", code="deployment_not_found", details={"deployment": deployment_id}
    )


def tenant_policy(db: Database, tenant: TenantRecord, config: DeployConfig) -> DeployPolicyRead:
    return effective_policy(
        tenant.name,
        tenant.environments,
        service.get_policy_row(db, tenant.id),
        tenants.list_members(db, tenant),
        config,
    )


# -- requests ---------------------------------------------------------------------------
def request_deployment(
    db: Database,
    argocd: ArgoCdClient,
    notifier: Notifier | None,
    access: TenantAccess,
    app: str,
    request: DeploymentCreate,
    *,
    idempotency_key: str | None,
    config: DeployConfig | None = None,
) -> tuple[DeploymentRead, bool]:
    """Records a deployment of `request.revision`; returns (deployment, created).

    Needs approval (policy) → pending_approval; else approved and the sync starts at once.
    """
    return _request(
        db,
        argocd,
        notifier,
        access,
        app,
        request,
        kind="deploy",
        idempotency_key=idempotency_key,
        resolve=lambda _db, _app: request.revision,
        config=DeployConfig.resolve(config),
    )


def request_rollback(
    db: Database,
    argocd: ArgoCdClient,
    notifier: Notifier | None,
    access: TenantAccess,
    app: str,
    request: RollbackCreate,
    *,
    idempotency_key: str | None,
    config: DeployConfig | None = None,
) -> tuple[DeploymentRead, bool]:
    """A deployment (kind rollback) of a revision that succeeded before in that environment.

    `to`: a deployment id or a revision; default the latest succeeded revision other than the
    one the environment was last synced to. None → 409 `nothing_to_roll_back_to`; an unknown
    `to` → 422 `unknown_rollback_target`. Approval rules are those of any deployment.
    """
    return _request(
        db,
        argocd,
        notifier,
        access,
        app,
        request,
        kind="rollback",
        idempotency_key=idempotency_key,
        resolve=lambda db, app_record: _rollback_revision(db, app_record, request.environment, request.to),
        config=DeployConfig.resolve(config),
    )


def _request(
    db: Database,
    argocd: ArgoCdClient,
    notifier: Notifier | None,
    access: TenantAccess,
    app: str,
    request: DeploymentCreate | RollbackCreate,
    *,
    kind: DeploymentKind,
    idempotency_key: str | None,
    resolve: Callable[[Database, AppRecord], str],
    config: DeployConfig,
) -> tuple[DeploymentRead, bool]:
    """Records the deployment (`resolve` names its revision) and starts it when no approval is needed."""
    environment, slack_channel = request.environment, request.slack_channel
    caller, tenant_record = access.caller, access.tenant
    # Everything the caller asked for: a repeated Idempotency-Key must come with the same request.
    fingerprint = _fingerprint(kind=kind, tenant=tenant_record.name, app=app, **request.model_dump())
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            details=[{"field": "Idempotency-Key", "message": "bad length"}],
        )
    with db.transaction():
        app_record = get_app_record(db, tenant_record, app)
        if idempotency_key is not None:
            first = _replay(db, tenant_record, caller, idempotency_key, fingerprint)
            if first is not None:
                return first.read(), False
        if environment not in app_record.environments:
            raise InvalidInput(
                f"app '{app}' is not deployed to environment '{environment}'"
                f" (its environments: {', '.join(app_record.environments)})",
                code="unknown_environment",
                details=[{"field": "environment", "message": "not an environment of the app"}],
            )
        revision = resolve(db, app_record)
        policy = tenant_policy(db, tenant_record, config)
        approval = needs_approval(policy, environment)
        current = service.succeeded_deployments(db, app_record.id, environment, limit=1)
        deployment = service.insert_deployment(
            db,
            tenant_id=tenant_record.id,
            app_id=app_record.id,
            environment=environment,
            kind=kind,
            revision=revision,
            previous_revision=(current[0].deployed_revision or current[0].revision) if current else None,
            state="pending_approval" if approval else "approved",
            requested_by=caller.user_id,
            requested_via=caller.front_end,
            approval_ttl_seconds=policy.approval_ttl_seconds if approval else None,
            slack_channel=(policy.approval_channel or slack_channel) if approval else slack_channel,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
        )
        audit(
            db,
            caller,
            "deployment.request" if kind == "deploy" else "deployment.rollback",
            deployment.id,
            tenant=tenant_record,
            details={
                "app": app,
                "environment": environment,
                "revision": revision,
                "previous_revision": deployment.previous_revision,
                "approval_required": approval,
            },
        )
        outbox.enqueue(db, deployment.id, "requested")
    if not approval:
        tracking.start_sync(db, argocd, deployment.id, config=config)
    tracking.deliver(db, notifier, deployment.id)
    return read_deployment(db, deployment.id), True


def _replay(db: Database, tenant: TenantRecord, caller: Caller, key: str, fingerprint: str) -> DeploymentRecord | None:
    service.lock_idempotency_key(db, tenant_id=tenant.id, requested_by=caller.user_id, key=key)
    first = service.find_by_idempotency_key(db, tenant_id=tenant.id, requested_by=caller.user_id, key=key)
    if first is not None and first.request_fingerprint != fingerprint:
        raise InvalidInput(
            f"Idempotency-Key '{key}' was already used for another request (deployment {first.id});"
            " use a new key for a new request",
            code="idempotency_key_reused",
            details={"deployment": first.id},
        )
    return first


def _rollback_revision(db: Database, app: AppRecord, environment: str, to: str | None) -> str:
    succeeded = service.succeeded_deployments(db, app.id, environment, limit=200)

    def deployed(d: DeploymentRecord) -> str:
        return d.deployed_revision or d.revision

    if to is None:
        current = service.current_target_revision(db, app.id, environment)
        target = next((d for d in succeeded if current not in (d.revision, d.deployed_revision)), None)
        if target is None:
            raise Conflict(
                f"nothing to roll back to: no earlier revision of '{app.name}' succeeded in {environment}"
                + (f" (current: {current})" if current else ""),
                code="nothing_to_roll_back_to",
                details={"app": app.name, "environment": environment, "current": current},
            )
        return deployed(target)
    chosen = next((d for d in succeeded if to in (d.id, d.revision, d.deployed_revision)), None)
    if chosen is None:
        known = list(dict.fromkeys(deployed(d) for d in succeeded))[:10]
        raise InvalidInput(
            f"'{to}' is neither a deployment nor a revision that succeeded in {environment};"
            f" succeeded revisions: {', '.join(known) if known else 'none'}",
            code="unknown_rollback_target",
            details=[{"field": "to", "message": "not a succeeded deployment or revision", "succeeded": known}],
        )
    return deployed(chosen)


# -- reads ------------------------------------------------------------------------------
def read_deployment(db: Database, deployment_id: str) -> DeploymentRead:
    with db.transaction():
        deployment = service.get_deployment(db, deployment_id)
    if deployment is None:
        raise deployment_not_found(deployment_id)
    return deployment.read()


def list_deployments(
    db: Database, access: TenantAccess, app: str, *, environment: str | None = None, limit: int = 20
) -> list[DeploymentRead]:
    """Newest first; `limit` is kept between 1 and 100."""
    with db.transaction():
        app_record = get_app_record(db, access.tenant, app)
        found = service.list_deployments(db, app_record.id, environment=environment, limit=max(1, min(limit, 100)))
    return [d.read() for d in found]


def deployment_tenant_id(db: Database, deployment_id: str) -> str | None:
    """The id of a deployment's tenant (for the route gate), None when there is no such deployment."""
    deployment = service.get_deployment(db, deployment_id)
    return deployment.tenant_id if deployment else None


def authorized_deployment(
    db: Database, access: TenantAccess, deployment_id: str, *, lock: bool = False
) -> DeploymentRecord:
    """The deployment if it belongs to the tenant the gate gave `access` to; 404 otherwise (unknown ids too)."""
    deployment = service.get_deployment(db, deployment_id, lock="update" if lock else None)
    if deployment is None or deployment.tenant_id != access.tenant.id:
        raise deployment_not_found(deployment_id)
    return deployment


def get_deployment(db: Database, access: TenantAccess, deployment_id: str) -> DeploymentRead:
    with db.transaction():
        return authorized_deployment(db, access, deployment_id).read()
