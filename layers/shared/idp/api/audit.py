"""GET /audit: platform admins read everything; a tenant's owners read that tenant's entries.

Entries follow the tenant's id. An owner's `?tenant=` reads the live tenant of that name
only, so a tenant that reuses a deleted one's name sees none of its entries. A platform
admin's `?tenant=` reads every tenant that has had the name, deleted ones included (each
entry carries its `tenant_id`), and `?tenant_id=` reads exactly one tenant, deleted or not.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from idp import deps
from idp.api import context
from idp.audit import service
from idp.errors import Forbidden
from idp.schemas.audit import AuditEntry, AuditQuery

__all__ = ["router"]

router = Router()

# pydantic-core's (Rust) regex: `$` is the true end of the text, with no trailing-newline exception.
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@router.get("/audit", summary="Audit entries, newest first (?tenant= for a tenant's owners)")
def list_audit(
    tenant: Annotated[str | None, Query(max_length=63)] = None,
    tenant_id: Annotated[str | None, Query(pattern=_UUID, description="platform admins: one tenant by id")] = None,
    actor: Annotated[str | None, Query(max_length=254)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    # Who may read which tenant was decided by the access gate (idp.api.gate) before we got here.
    caller = context.caller(router)
    if tenant_id is not None and not caller.platform_admin:
        raise Forbidden("only platform admins may read the audit log by tenant id", code="forbidden")
    db = deps.database()
    with db.transaction():
        tenant_ids: list[str] | None = None
        if tenant_id is not None:
            tenant_ids = [tenant_id.lower()]
        elif tenant is not None:
            tenant_ids = service.tenant_ids_named(db, tenant, deleted_too=caller.platform_admin)
        query = AuditQuery(tenant_ids=tenant_ids, actor=actor, action=action, limit=limit)
        return service.list_entries(db, query)
