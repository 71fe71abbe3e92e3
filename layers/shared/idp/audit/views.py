"""GET /audit: platform admins read everything; a tenant's owners read that tenant's entries."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from idp import deps
from idp.audit import service
from idp.audit.models import AuditEntry, AuditQuery

__all__ = ["router"]

router = Router()


@router.get("/audit", summary="Audit entries, newest first (?tenant= for a tenant's owners)")
def list_audit(
    tenant: Annotated[str | None, Query(max_length=63)] = None,
    actor: Annotated[str | None, Query(max_length=254)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    # Who may read what was decided by the access gate (idp.auth.permissions) before we got here.
    db = deps.database()
    with db.transaction():
        return service.list_entries(db, AuditQuery(tenant=tenant, actor=actor, action=action, limit=limit))
