"""HTTP routes for a tenant's service accounts: parse, call the service, shape the answer.

Who may call these is decided by the route gate, not here. The token appears in exactly
one response (creation) and is never logged.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from idp import deps
from idp.api import context
from idp.api.contract import answers
from idp.audit.service import record as audit
from idp.config import get_settings
from idp.schemas.service_accounts import ServiceAccountCreate, ServiceAccountCreated, ServiceAccountRead
from idp.service_accounts import service

__all__ = ["router"]

router = Router()

TenantName = Annotated[str, Path(min_length=1, max_length=63, description="tenant name")]
AccountName = Annotated[str, Path(min_length=1, max_length=63, description="service account name")]


@router.post(
    "/tenants/<tenant>/service-accounts",
    summary="Create a service account; the response is the only time its token is shown",
    responses=answers(
        {201: "Created, with its token (shown this once)"},
        errors={409: "conflict: a service account of that name exists in the tenant; revoke it first"},
    ),
)
def create_service_account(tenant: TenantName, body: ServiceAccountCreate) -> tuple[ServiceAccountCreated, int]:
    access = context.access(router)
    caller, record = access.caller, access.tenant
    db = deps.database()
    with db.transaction():
        created = service.create(
            db,
            tenant_id=record.id,
            tenant_name=record.name,
            request=body,
            created_by=caller.user_id,
            max_days=get_settings().service_account_max_days,
        )
        audit(
            db,
            caller,
            "service_account.create",
            body.name,
            tenant=record,
            details={"role": body.role, "expires_at": created.expires_at, "token_prefix": created.token_prefix},
        )
    return created, 201


@router.get("/tenants/<tenant>/service-accounts", summary="The tenant's service accounts, revoked ones included")
def list_service_accounts(tenant: TenantName) -> list[ServiceAccountRead]:
    db = deps.database()
    with db.transaction():
        return service.list_for_tenant(db, context.access(router).tenant.id)


@router.delete(
    "/tenants/<tenant>/service-accounts/<name>",
    summary="Revoke a service account; its token stops working at once (repeating is harmless)",
    responses=answers({200: "The service account, revoked"}, errors={404: "not_found: no such service account"}),
)
def revoke_service_account(tenant: TenantName, name: AccountName) -> ServiceAccountRead:
    access = context.access(router)
    caller, record = access.caller, access.tenant
    db = deps.database()
    with db.transaction():
        revoked = service.revoke(db, record.id, name, caller.user_id)
        audit(db, caller, "service_account.revoke", name, tenant=record)
        return revoked
