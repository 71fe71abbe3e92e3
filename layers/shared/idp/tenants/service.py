"""Tenant and member rows. Plain functions, the Database first; they never commit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idp.db import Database, is_uuid, on_unique_violation
from idp.errors import Conflict, InvalidInput, NotFound
from idp.kube_names import namespace_name
from idp.schemas.tenants import MemberRead, Quota, Role, TenantStatus, normalize_repositories

__all__ = [
    "TenantRecord",
    "add_member",
    "count_owners",
    "get_member",
    "get_tenant",
    "get_tenant_by_id",
    "insert_tenant",
    "list_members",
    "list_repositories",
    "list_tenants",
    "lock_tenant",
    "mark_deleted",
    "remove_member",
    "set_repositories",
    "set_status",
    "update_tenant_spec",
]


class TenantRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    id: str
    name: str
    display_name: str
    environments: list[str]
    quotas: dict[str, Quota]
    status: TenantStatus
    status_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    repositories: list[str] = Field(default_factory=list, description="normalized, sorted")

    def namespace(self, env: str) -> str:
        return namespace_name(self.name, env)

    def namespaces(self) -> list[str]:
        return [self.namespace(env) for env in self.environments]

    def require_environments(self, environments: list[str], *, field: str) -> None:
        """InvalidInput (code `unknown_environment`) naming each of `environments` the tenant lacks."""
        unknown = [env for env in environments if env not in self.environments]
        if unknown:
            raise InvalidInput(
                f"tenant '{self.name}' has no environment {', '.join(unknown)}"
                f" (it has: {', '.join(self.environments)})",
                code="unknown_environment",
                details=[{"field": field, "message": f"unknown environment: {env}"} for env in unknown],
            )


_COLUMNS = (
    "id::text AS id, name, display_name, environments, quotas, status, status_reason,"
    " created_by, created_at, updated_at, deleted_at,"
    " COALESCE((SELECT jsonb_agg(r.url ORDER BY r.url) FROM tenant_repositories r WHERE r.tenant_id = tenants.id),"
    " '[]'::jsonb) AS repositories"
)


def _record(row: dict[str, Any]) -> TenantRecord:
    for key in ("environments", "quotas", "repositories"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return TenantRecord.model_validate(row)


def get_tenant(db: Database, name: str, *, for_update: bool = False) -> TenantRecord:
    """The live tenant called `name`; NotFound otherwise."""
    sql = f"SELECT {_COLUMNS} FROM tenants WHERE name = :name AND deleted_at IS NULL"
    row = db.row(sql + (" FOR UPDATE" if for_update else ""), name=name)
    if row is None:
        raise NotFound(f"tenant '{name}' not found", details={"tenant": name})
    return _record(row)


def get_tenant_by_id(db: Database, tenant_id: str, *, live: bool = True) -> TenantRecord | None:
    """The tenant with this id (only while it lives, unless `live` is False); None otherwise."""
    if not is_uuid(tenant_id):
        return None
    sql = f"SELECT {_COLUMNS} FROM tenants WHERE id = CAST(:id AS uuid)"
    row = db.row(sql + (" AND deleted_at IS NULL" if live else ""), id=tenant_id)
    return _record(row) if row else None


def lock_tenant(db: Database, tenant: TenantRecord) -> TenantRecord:
    """The tenant's row read anew and locked for the caller's transaction; NotFound if it was deleted meanwhile."""
    row = db.row(
        f"SELECT {_COLUMNS} FROM tenants WHERE id = CAST(:id AS uuid) AND deleted_at IS NULL FOR UPDATE", id=tenant.id
    )
    if row is None:
        raise NotFound(f"tenant '{tenant.name}' not found", code="tenant_not_found", details={"tenant": tenant.name})
    return _record(row)


def find_tenant(db: Database, name: str) -> TenantRecord | None:
    try:
        return get_tenant(db, name)
    except NotFound:
        return None


def list_tenants(db: Database, *, member: str | None) -> list[TenantRecord]:
    """Live tenants; only those `member` belongs to unless member is None (platform admin)."""
    if member is None:
        rows = db.rows(f"SELECT {_COLUMNS} FROM tenants WHERE deleted_at IS NULL ORDER BY name")
    else:
        rows = db.rows(
            f"SELECT {_COLUMNS} FROM tenants WHERE deleted_at IS NULL AND EXISTS"
            " (SELECT 1 FROM tenant_members m WHERE m.tenant_id = tenants.id AND m.user_id = :user)"
            " ORDER BY name",
            user=member,
        )
    return [_record(r) for r in rows]


def insert_tenant(
    db: Database,
    *,
    name: str,
    display_name: str,
    environments: list[str],
    quotas: dict[str, Quota],
    created_by: str,
) -> TenantRecord:
    with on_unique_violation(Conflict(f"tenant '{name}' already exists", details={"tenant": name})):
        row = db.row(
            "INSERT INTO tenants (name, display_name, environments, quotas, created_by)"
            " VALUES (:name, :display_name, CAST(:environments AS jsonb), CAST(:quotas AS jsonb), :created_by)"
            f" RETURNING {_COLUMNS}",
            name=name,
            display_name=display_name,
            environments=json.dumps(environments),
            quotas=json.dumps({k: v.model_dump() for k, v in quotas.items()}),
            created_by=created_by,
        )
    assert row is not None
    return _record(row)


def update_tenant_spec(
    db: Database,
    tenant: TenantRecord,
    *,
    display_name: str,
    environments: list[str],
    quotas: dict[str, Quota],
) -> TenantRecord:
    row = db.row(
        "UPDATE tenants SET display_name = :display_name, environments = CAST(:environments AS jsonb),"
        " quotas = CAST(:quotas AS jsonb), updated_at = now() WHERE id = CAST(:id AS uuid)"
        f" RETURNING {_COLUMNS}",
        id=tenant.id,
        display_name=display_name,
        environments=json.dumps(environments),
        quotas=json.dumps({k: v.model_dump() for k, v in quotas.items()}),
    )
    assert row is not None
    return _record(row)


def set_status(db: Database, tenant: TenantRecord, status: TenantStatus, reason: str | None = None) -> TenantRecord:
    row = db.row(
        "UPDATE tenants SET status = :status, status_reason = :reason, updated_at = now()"
        f" WHERE id = CAST(:id AS uuid) RETURNING {_COLUMNS}",
        id=tenant.id,
        status=status,
        reason=reason,
    )
    assert row is not None
    return _record(row)


def mark_deleted(db: Database, tenant: TenantRecord) -> TenantRecord:
    row = db.row(
        "UPDATE tenants SET status = 'deleted', status_reason = NULL, deleted_at = now(), updated_at = now()"
        f" WHERE id = CAST(:id AS uuid) RETURNING {_COLUMNS}",
        id=tenant.id,
    )
    assert row is not None
    return _record(row)


# -- repositories -----------------------------------------------------------------
def list_repositories(db: Database, tenant: TenantRecord) -> list[str]:
    """The tenant's registered repositories (normalized URLs), sorted."""
    rows = db.run(
        "SELECT url FROM tenant_repositories WHERE tenant_id = CAST(:id AS uuid) ORDER BY url",
        id=tenant.id,
    )
    return [str(r[0]) for r in rows]


def set_repositories(db: Database, tenant: TenantRecord, urls: list[str], *, added_by: str) -> list[str]:
    """Replaces the set: URLs kept keep their added_by/added_at, new ones are added, the rest removed."""
    try:
        wanted = normalize_repositories(urls)
    except ValueError as exc:
        raise InvalidInput(str(exc), details=[{"field": "repositories", "message": str(exc)}]) from None
    db.run(
        "DELETE FROM tenant_repositories WHERE tenant_id = CAST(:id AS uuid)"
        " AND url NOT IN (SELECT jsonb_array_elements_text(CAST(:urls AS jsonb)))",
        id=tenant.id,
        urls=json.dumps(wanted),
    )
    db.run(
        "INSERT INTO tenant_repositories (tenant_id, url, added_by)"
        " SELECT CAST(:id AS uuid), u, :added_by FROM jsonb_array_elements_text(CAST(:urls AS jsonb)) AS u"
        " ON CONFLICT (tenant_id, url) DO NOTHING",
        id=tenant.id,
        urls=json.dumps(wanted),
        added_by=added_by,
    )
    return list_repositories(db, tenant)


# -- members ----------------------------------------------------------------------
_MEMBER_COLUMNS = "user_id AS user, role, added_by, added_at"


def list_members(db: Database, tenant: TenantRecord) -> list[MemberRead]:
    rows = db.rows(
        f"SELECT {_MEMBER_COLUMNS} FROM tenant_members WHERE tenant_id = CAST(:id AS uuid) ORDER BY user_id",
        id=tenant.id,
    )
    return [MemberRead.model_validate(r) for r in rows]


def get_member(db: Database, tenant: TenantRecord, user: str) -> MemberRead | None:
    row = db.row(
        f"SELECT {_MEMBER_COLUMNS} FROM tenant_members WHERE tenant_id = CAST(:id AS uuid) AND user_id = :user",
        id=tenant.id,
        user=user,
    )
    return MemberRead.model_validate(row) if row else None


def add_member(db: Database, tenant: TenantRecord, *, user: str, role: Role, added_by: str) -> MemberRead:
    """Adds the member, or changes their role (an upsert: safe to repeat)."""
    row = db.row(
        "INSERT INTO tenant_members (tenant_id, user_id, role, added_by)"
        " VALUES (CAST(:id AS uuid), :user, :role, :added_by)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role"
        f" RETURNING {_MEMBER_COLUMNS}",
        id=tenant.id,
        user=user,
        role=role,
        added_by=added_by,
    )
    assert row is not None
    return MemberRead.model_validate(row)


def remove_member(db: Database, tenant: TenantRecord, user: str) -> bool:
    rows = db.run(
        "DELETE FROM tenant_members WHERE tenant_id = CAST(:id AS uuid) AND user_id = :user RETURNING user_id",
        id=tenant.id,
        user=user,
    )
    return bool(rows)


def count_owners(db: Database, tenant: TenantRecord) -> int:
    rows = db.run(
        "SELECT count(*) FROM tenant_members WHERE tenant_id = CAST(:id AS uuid) AND role = 'owner'",
        id=tenant.id,
    )
    return int(rows[0][0])


