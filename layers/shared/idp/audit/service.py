"""Writing and reading the audit log. Callers write inside the transaction of the change itself,
so no change is committed without its entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from idp.db import Database
from idp.principal import Caller
from idp.schemas.audit import AuditEntry, AuditQuery, Outcome

__all__ = ["TenantLike", "TenantRef", "list_entries", "record", "tenant_ids_named"]

class TenantLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class TenantRef:
    """A tenant as an audit entry names it, for records that carry its id and name (deployments, apps)."""

    id: str
    name: str


# Keys whose values never belong in the audit log, whatever a caller passes in details.
_SECRET_KEYS = ("token", "secret", "password", "private", "key")


def record(
    db: Database,
    caller: Caller | None,
    action: str,
    target: str,
    *,
    tenant: TenantLike | None = None,
    outcome: Outcome = "ok",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
    actor_kind: str | None = None,
    front_end: str | None = None,
) -> None:
    """Writes one entry; `actor`/`actor_kind` name who acted when there is no Caller yet (sign-in).

    An entry about a tenant records its id (what reads follow) and its name at the time (for people).
    """
    clean = {k: v for k, v in (details or {}).items() if not any(s in k.lower() for s in _SECRET_KEYS)}
    db.run(
        "INSERT INTO audit_log"
        " (actor, actor_kind, action, target, tenant, tenant_id, front_end, request_id, outcome, details)"
        " VALUES (:actor, :kind, :action, :target, :tenant, CAST(:tenant_id AS uuid), :front_end, :request_id,"
        " :outcome, CAST(:details AS jsonb))",
        actor=actor or (caller.user_id if caller else "anonymous"),
        kind=actor_kind or (caller.kind if caller else "anonymous"),
        action=action,
        target=target,
        tenant=tenant.name if tenant else None,
        tenant_id=tenant.id if tenant else None,
        front_end=front_end or (caller.front_end if caller else "api"),
        request_id=caller.request_id if caller else None,
        outcome=outcome,
        details=json.dumps(clean, default=str),
    )


def tenant_ids_named(db: Database, name: str, *, deleted_too: bool) -> list[str]:
    """The ids of the live tenant called `name`, and with `deleted_too` of every deleted one that was."""
    rows = db.run(
        "SELECT id::text FROM tenants WHERE name = :name AND (CAST(:deleted_too AS boolean) OR deleted_at IS NULL)"
        " ORDER BY created_at",
        name=name,
        deleted_too=deleted_too,
    )
    return [str(r[0]) for r in rows]


def list_entries(db: Database, query: AuditQuery) -> list[AuditEntry]:
    """Entries newest first; an entry about a tenant is found by the tenant's id, never by its name."""
    rows = db.rows(
        "SELECT id, at, actor, actor_kind, action, target, tenant, tenant_id::text AS tenant_id, front_end,"
        " request_id, outcome, details FROM audit_log"
        " WHERE (CAST(:tenant_ids AS jsonb) IS NULL"
        " OR tenant_id::text IN (SELECT jsonb_array_elements_text(CAST(:tenant_ids AS jsonb))))"
        " AND (CAST(:actor AS text) IS NULL OR actor = :actor)"
        " AND (CAST(:action AS text) IS NULL OR action = :action)"
        " ORDER BY at DESC, id DESC LIMIT :limit",
        tenant_ids=None if query.tenant_ids is None else json.dumps(query.tenant_ids),
        actor=query.actor,
        action=query.action,
        limit=query.limit,
    )
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return [AuditEntry.model_validate(r) for r in rows]
