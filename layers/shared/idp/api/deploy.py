"""HTTP routes for applications, deployments and the approval policy: parse, call the flow, shape the answer.

Who may call each route was decided by the access gate (`idp.api.gate`) before a
handler runs, and its decision is handed to the flow; the flows check only what depends on
the data (self-approval, states).
"""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from idp import deps
from idp.api import context
from idp.api.contract import answers
from idp.config import get_settings
from idp.deploy import approvals, apps, flows
from idp.errors import InvalidInput
from idp.schemas.deploy import (
    AppCreate,
    AppRead,
    DeploymentCreate,
    DeploymentDecision,
    DeploymentRead,
    DeployPolicyRead,
    DeployPolicyUpdate,
    RollbackCreate,
)

__all__ = ["IDEMPOTENCY_HEADER", "router"]

router = Router()

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,200}")  # printable ASCII, as header values travel

TenantName = Annotated[str, Path(min_length=1, max_length=63, description="tenant name")]
AppName = Annotated[str, Path(min_length=1, max_length=63, description="application name")]
DeploymentId = Annotated[str, Path(min_length=1, max_length=64, description="deployment id")]

_APP_NOT_FOUND = "app_not_found: no such app in the tenant"
_REQUESTED = {
    202: "Requested: waiting for approval, or about to sync (the poller follows it)",
    200: "The Idempotency-Key was used before: the first deployment it made",
}


def _idempotency_key() -> str | None:
    """The Idempotency-Key header (a repeat of the same request returns the first result), if sent."""
    value = router.current_event.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    key = value.strip()
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        message = "must be 1 to 200 printable ASCII characters"
        raise InvalidInput(
            f"invalid request: {IDEMPOTENCY_HEADER}: {message}",
            details=[{"field": IDEMPOTENCY_HEADER, "message": message}],
        )
    return key


# -- applications ---------------------------------------------------------------------
@router.get("/apps", summary="Applications of the caller's tenants (?name= to find one by name)")
def find_apps(name: Annotated[str | None, Query(min_length=1, max_length=63)] = None) -> list[AppRead]:
    return apps.find_apps(deps.database(), context.caller(router), name)


@router.post(
    "/tenants/<tenant>/apps",
    summary="Register an application: one Argo CD Application per environment",
    responses=answers(
        {201: "Registered, its Argo CD Applications applied", 200: "Repeated with the same spec: applied again"},
        errors={
            409: "app_exists: the name is taken with another spec; conflict: it is being deleted;"
            " argocd_application_taken: an Argo CD Application of that name is not this tenant's",
            502: "argocd_*: Argo CD failed; the app is kept not_ready, the same request again finishes it",
        },
    ),
)
def create_app(tenant: TenantName, body: AppCreate) -> tuple[AppRead, int]:
    server = get_settings().argocd_destination_server
    app, created = apps.create_app(deps.database(), deps.argocd(), context.access(router), body, server=server)
    return app, 201 if created else 200


@router.get("/tenants/<tenant>/apps", summary="The tenant's applications")
def list_apps(tenant: TenantName) -> list[AppRead]:
    return apps.list_apps(deps.database(), context.access(router))


@router.get(
    "/tenants/<tenant>/apps/<app>",
    summary="One application, with Argo CD's live status per environment",
    responses=answers({200: "The app (live fields are null when Argo CD cannot say)"}, errors={404: _APP_NOT_FOUND}),
)
def get_app(tenant: TenantName, app: AppName) -> AppRead:
    return apps.get_app(deps.database(), deps.argocd(), context.access(router), app)


@router.delete(
    "/tenants/<tenant>/apps/<app>",
    summary="Delete the Argo CD Applications; the record stays for audit",
    responses=answers(
        {200: "The app, deleted"},
        errors={404: _APP_NOT_FOUND, 502: "argocd_*: Argo CD failed part-way; the app stays deleting, retry"},
    ),
)
def delete_app(tenant: TenantName, app: AppName) -> AppRead:
    return apps.delete_app(deps.database(), deps.argocd(), context.access(router), app)


# -- deployments ----------------------------------------------------------------------
@router.post(
    "/tenants/<tenant>/apps/<app>/deployments",
    summary="Deploy a revision to an environment (202; 200 when an Idempotency-Key repeats)",
    responses=answers(_REQUESTED, errors={404: _APP_NOT_FOUND}),
)
def request_deployment(tenant: TenantName, app: AppName, body: DeploymentCreate) -> tuple[DeploymentRead, int]:
    deployment, created = flows.request_deployment(
        deps.database(),
        deps.argocd(),
        deps.notifier(),
        context.access(router),
        app,
        body,
        idempotency_key=_idempotency_key(),
    )
    return deployment, 202 if created else 200


@router.get(
    "/tenants/<tenant>/apps/<app>/deployments",
    summary="Deployments of an application, newest first",
    responses=answers({200: "The deployments, newest first"}, errors={404: _APP_NOT_FOUND}),
)
def list_deployments(
    tenant: TenantName,
    app: AppName,
    environment: Annotated[str | None, Query(min_length=1, max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[DeploymentRead]:
    return flows.list_deployments(deps.database(), context.access(router), app, environment=environment, limit=limit)


@router.post(
    "/tenants/<tenant>/apps/<app>/rollback",
    summary="Deploy a revision that succeeded before (202; 200 when an Idempotency-Key repeats)",
    responses=answers(
        _REQUESTED,
        errors={404: _APP_NOT_FOUND, 409: "nothing_to_roll_back_to: no earlier revision succeeded there"},
    ),
)
def request_rollback(tenant: TenantName, app: AppName, body: RollbackCreate) -> tuple[DeploymentRead, int]:
    deployment, created = flows.request_rollback(
        deps.database(),
        deps.argocd(),
        deps.notifier(),
        context.access(router),
        app,
        body,
        idempotency_key=_idempotency_key(),
    )
    return deployment, 202 if created else 200


@router.get("/deployments/<deployment>", summary="One deployment")
def get_deployment(deployment: DeploymentId) -> DeploymentRead:
    return flows.get_deployment(deps.database(), context.access(router), deployment)


@router.post(
    "/deployments/<deployment>/approve",
    summary="Approve a deployment waiting for approval",
    responses=answers(
        {200: "The deployment, approved (its sync starts)"},
        errors={
            403: "self_approval: the requester may not approve their own deployment",
            409: "already_decided / approval_expired: it is not waiting for approval",
        },
    ),
)
def approve_deployment(deployment: DeploymentId, body: DeploymentDecision | None = None) -> DeploymentRead:
    db, argocd, notifier = deps.database(), deps.argocd(), deps.notifier()
    return approvals.approve(db, argocd, notifier, context.access(router), deployment, body)


@router.post(
    "/deployments/<deployment>/reject",
    summary="Reject a deployment waiting for approval",
    responses=answers(
        {200: "The deployment, rejected"},
        errors={409: "already_decided / approval_expired: it is not waiting for approval"},
    ),
)
def reject_deployment(deployment: DeploymentId, body: DeploymentDecision | None = None) -> DeploymentRead:
    return approvals.reject(deps.database(), deps.notifier(), context.access(router), deployment, body)


# -- approval policy ------------------------------------------------------------------
@router.get("/tenants/<tenant>/deploy-policy", summary="Which environments need an approval, where and for how long")
def get_policy(tenant: TenantName) -> DeployPolicyRead:
    return approvals.get_policy(deps.database(), context.access(router))


@router.put("/tenants/<tenant>/deploy-policy", summary="Replace the tenant's approval policy")
def set_policy(tenant: TenantName, body: DeployPolicyUpdate) -> DeployPolicyRead:
    return approvals.set_policy(deps.database(), context.access(router), body)
