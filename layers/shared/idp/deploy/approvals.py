"""Decisions on deployments (approve, reject) and the approval policy, for every front end.

A decision commits with its audit entry and its Slack outbox row (only when the deployment has
a slack_channel); after the commit the notifier, when given, delivers that deployment's rows
(the poller delivers whatever is left). A deployment that has just been approved is started at
once through `tracking.start_sync` (the poller's own function). If Argo CD fails at that moment
the decision stands: the deployment stays `approved` with the reason in `message` and the
poller starts it later; the approval still answers with that state (no error: nothing the
caller could retry would help).

`config` (approval defaults, destination server) defaults to the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from idp.audit.service import TenantRef
from idp.audit.service import record as audit
from idp.clients.argocd import ArgoCdClient
from idp.db import Database
from idp.deploy import outbox, service, tracking
from idp.deploy.flows import authorized_deployment, read_deployment, tenant_policy
from idp.deploy.policy import DeployConfig
from idp.deploy.service import DeploymentRecord
from idp.errors import Conflict, Forbidden, IdpError
from idp.principal import Caller
from idp.schemas.deploy import DeploymentDecision, DeploymentRead, DeployPolicyRead, DeployPolicyUpdate
from idp.tenants import service as tenants
from idp.tenants.access import TenantAccess

if TYPE_CHECKING:
    from idp.deploy.notifications import Notifier

__all__ = ["approve", "get_policy", "reject", "set_policy"]

_TIME = "%Y-%m-%d %H:%M:%S UTC"


# -- decisions --------------------------------------------------------------------------
def approve(
    db: Database,
    argocd: ArgoCdClient,
    notifier: Notifier | None,
    access: TenantAccess,
    deployment_id: str,
    decision: DeploymentDecision | None = None,
    *,
    config: DeployConfig | None = None,
) -> DeploymentRead:
    """Approves a pending deployment and starts its sync (once, however many approvers click).

    403 `self_approval` for the requester; 409 `already_decided` (naming who and when);
    409 `approval_expired` once past the deadline (recorded expired first).
    """
    _decide(db, notifier, access, deployment_id, decision, "approved")
    tracking.start_sync(db, argocd, deployment_id, config=DeployConfig.resolve(config))
    tracking.deliver(db, notifier, deployment_id)
    return read_deployment(db, deployment_id)


def reject(
    db: Database,
    notifier: Notifier | None,
    access: TenantAccess,
    deployment_id: str,
    decision: DeploymentDecision | None = None,
) -> DeploymentRead:
    """Rejects a pending deployment (its requester may withdraw it this way too)."""
    _decide(db, notifier, access, deployment_id, decision, "rejected")
    tracking.deliver(db, notifier, deployment_id)
    return read_deployment(db, deployment_id)


def _decide(
    db: Database,
    notifier: Notifier | None,
    access: TenantAccess,
    deployment_id: str,
    decision: DeploymentDecision | None,
    state: Literal["approved", "rejected"],
) -> None:
    comment = decision.comment if decision else None
    caller = access.caller
    if caller.kind != "user":
        raise Forbidden("only people decide on deployments, not service accounts", code="forbidden")
    refusal: IdpError | None = None
    with db.transaction():
        deployment = authorized_deployment(db, access, deployment_id, lock=True)
        refusal = _refusal(db, caller, deployment, state)
        if refusal is None:
            decided = service.decide(db, deployment.id, state=state, decided_by=caller.user_id, comment=comment)
            assert decided is not None
            outbox.enqueue(db, deployment.id, state)
            audit(
                db,
                caller,
                "deployment.approve" if state == "approved" else "deployment.reject",
                deployment.id,
                tenant=TenantRef(deployment.tenant_id, deployment.tenant),
                details={"app": deployment.app, "environment": deployment.environment, "comment": comment},
            )
    if refusal is not None:
        # The refusal (and an expiry it found) is committed above; tell the caller now.
        tracking.deliver(db, notifier, deployment_id)
        raise refusal


def _refusal(
    db: Database, caller: Caller, deployment: DeploymentRecord, state: Literal["approved", "rejected"]
) -> IdpError | None:
    """Why this decision cannot be taken (recording an expiry or a refused self-approval), or None."""
    if deployment.state == "expired":
        return _expired_error(deployment)
    if deployment.state != "pending_approval":
        if deployment.decided_by is None:
            message = f"deployment {deployment.id} needed no approval; it is {deployment.state}"
        else:
            decided_at = deployment.decided_at.strftime(_TIME) if deployment.decided_at else "an unknown time"
            verb = "rejected" if deployment.state == "rejected" else "approved"
            message = (
                f"deployment {deployment.id} was already {verb} by {deployment.decided_by} at {decided_at};"
                f" it is {deployment.state}"
            )
        return Conflict(
            message,
            code="already_decided",
            details={
                "deployment": deployment.id,
                "state": deployment.state,
                "decided_by": deployment.decided_by,
                "decided_at": deployment.decided_at.isoformat() if deployment.decided_at else None,
            },
        )
    if state == "approved" and caller.user_id == deployment.requested_by:
        audit(
            db,
            caller,
            "deployment.approve",
            deployment.id,
            tenant=TenantRef(deployment.tenant_id, deployment.tenant),
            outcome="denied",
            details={"app": deployment.app, "environment": deployment.environment, "reason": "self_approval"},
        )
        return Forbidden(
            f"you requested deployment {deployment.id}; another owner or admin must approve it",
            code="self_approval",
            details={"deployment": deployment.id, "requested_by": deployment.requested_by},
        )
    expires = deployment.approval_expires_at
    if expires is not None and expires <= service.db_now(db):
        tracking.expire_locked(db, deployment)
        return _expired_error(deployment)
    return None


def _expired_error(deployment: DeploymentRecord) -> Conflict:
    expires = deployment.approval_expires_at
    when = expires.strftime(_TIME) if expires else "its deadline"
    return Conflict(
        f"the approval request of deployment {deployment.id} expired at {when}; request the deployment again",
        code="approval_expired",
        details={"deployment": deployment.id, "expired_at": expires.isoformat() if expires else None},
    )


# -- approval policy --------------------------------------------------------------------
def get_policy(db: Database, access: TenantAccess, *, config: DeployConfig | None = None) -> DeployPolicyRead:
    with db.transaction():
        return tenant_policy(db, access.tenant, DeployConfig.resolve(config))


def set_policy(
    db: Database, access: TenantAccess, update: DeployPolicyUpdate, *, config: DeployConfig | None = None
) -> DeployPolicyRead:
    """Replaces the tenant's policy; its environments must be the tenant's (422)."""
    with db.transaction():
        tenant_record = tenants.lock_tenant(db, access.tenant)
        tenant_record.require_environments(update.approval_environments, field="approval_environments")
        service.upsert_policy(db, tenant_record.id, update, updated_by=access.caller.user_id)
        details = update.model_dump()
        audit(db, access.caller, "deploy_policy.update", tenant_record.name, tenant=tenant_record, details=details)
        return tenant_policy(db, tenant_record, DeployConfig.resolve(config))
