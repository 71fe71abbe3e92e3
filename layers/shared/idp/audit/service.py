"""Writing and reading the audit log. Callers write inside the transaction of the change itself,
so no change is committed without its entry."""

from __future__ import annotations

import json
from typing import Any

from idp.audit.models import AuditEntry, AuditQuery, Outcome
from idp.db import Database
from idp.http.caller import Caller

__all__ = ["list_entries", "record"]

# Keys whose values never belong in the audit log, whatever a caller passes in details.
_SECRET_KEYS = ("token", "secret", "password", "private", "key")


def record(
    db: Database,
    caller: Caller | None,
    action: str,
    target: str,
    *,
    tenant: str | None = None,
    outcome: Outcome = "ok",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
    actor_kind: str | None = None,
    front_end: str | None = None,
) -> None:
    """Writes one entry; `actor`/`actor_kind` name who acted when there is no Caller yet (sign-in)."""
    clean = {k: v for k, v in (details or {}).items() if not any(s in k.lower() for s in _SECRET_KEYS)}
    db.run(
        "INSERT INTO audit_log (actor, actor_kind, action, target, tenant, front_end, request_id, outcome, details)"
        " VALUES (:actor, :kind, :action, :target, :tenant, :front_end, :request_id, :outcome,"
        " CAST(:details AS jsonb))",
        actor=actor or (caller.user_id if caller else "anonymous"),
        kind=actor_kind or (caller.kind if caller else "anonymous"),
        action=action,
        target=target,
        tenant=tenant,
        front_end=front_end or (caller.front_end if caller else "api"),
        request_id=caller.request_id if caller else None,
        outcome=outcome,
        details=json.dumps(clean, default=str),
    )


def list_entries(db: Database, query: AuditQuery) -> list[AuditEntry]:
    rows = db.rows(
        "SELECT id, at, actor, actor_kind, action, target, tenant, front_end, request_id, outcome, details"
        " FROM audit_log WHERE (CAST(:tenant AS text) IS NULL OR tenant = :tenant)"
        " AND (CAST(:actor AS text) IS NULL OR actor = :actor)"
        " AND (CAST(:action AS text) IS NULL OR action = :action)"
        " ORDER BY at DESC, id DESC LIMIT :limit",
        tenant=query.tenant,
        actor=query.actor,
        action=query.action,
        limit=query.limit,
    )
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return [AuditEntry.model_validate(r) for r in rows]
