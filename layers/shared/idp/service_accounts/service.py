"""Service-account rows and token checks. Plain functions, the Database first; they never commit.

A token is `idp_sa_` followed by 256 random bits. Only its SHA-256 is stored: a token that
random cannot be guessed or brute-forced from its hash, so a slow password hash (bcrypt,
argon2) would add cost on every request and no safety. Looking a token up by its hash also
keeps the check constant-time with respect to the secret: the database compares hashes,
which an attacker cannot steer byte by byte.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from idp.db import Database, is_uuid, on_unique_violation
from idp.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from idp.schemas.service_accounts import (
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountPrincipal,
    ServiceAccountRead,
)

__all__ = [
    "DEFAULT_EXPIRES_IN_DAYS",
    "SA_TOKEN_PREFIX",
    "authenticate_token",
    "create",
    "get",
    "hash_token",
    "is_active",
    "list_for_tenant",
    "looks_like_token",
    "revoke",
]

SA_TOKEN_PREFIX = "idp_sa_"
DEFAULT_EXPIRES_IN_DAYS = 90  # a token's lifetime when the request names none (and the cap is higher)
_SHOWN_PREFIX = 12  # characters of the token kept in clear, for lists
_MAX_TOKEN_LENGTH = 256  # ours are 50; anything far longer is not worth hashing
_LAST_USED_EVERY = "1 minute"  # last_used_at is written at most this often per account

_COLUMNS = "id::text AS id, name, role, token_prefix, created_by, created_at, expires_at, revoked_at, last_used_at"


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token: all the platform ever stores of it."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Whether a bearer credential is a service-account token (and not, say, a user's JWT)."""
    return token.startswith(SA_TOKEN_PREFIX)


def create(
    db: Database,
    *,
    tenant_id: str,
    tenant_name: str,
    request: ServiceAccountCreate,
    created_by: str,
    max_days: int,
) -> ServiceAccountCreated:
    """Creates the account and its token; the returned token is never retrievable again.

    `max_days` (the platform's SERVICE_ACCOUNT_MAX_DAYS) caps the token's lifetime: a request
    above it is refused (422 on `expires_in_days`), one without a lifetime gets the cap or
    DEFAULT_EXPIRES_IN_DAYS, whichever is smaller.
    """
    days = _lifetime_days(request, max_days)
    token = SA_TOKEN_PREFIX + secrets.token_urlsafe(32)
    taken = Conflict(
        f"service account '{request.name}' already exists in tenant '{tenant_name}'; revoke it first",
        details={"tenant": tenant_name, "service_account": request.name},
    )
    with on_unique_violation(taken):
        row = db.row(
            "INSERT INTO service_accounts"
            " (tenant_id, name, role, token_hash, token_prefix, created_by, expires_at)"
            " VALUES (CAST(:tenant_id AS uuid), :name, :role, :token_hash, :token_prefix, :created_by,"
            " now() + make_interval(days => CAST(:days AS integer)))"
            f" RETURNING {_COLUMNS}",
            tenant_id=tenant_id,
            name=request.name,
            role=request.role,
            token_hash=hash_token(token),
            token_prefix=token[:_SHOWN_PREFIX],
            created_by=created_by,
            days=days,
        )
    assert row is not None
    return ServiceAccountCreated(**ServiceAccountRead.model_validate(row).model_dump(), token=token)


def _lifetime_days(request: ServiceAccountCreate, max_days: int) -> int:
    """The token's lifetime: the request's, refused above `max_days`; else the default, capped."""
    if request.expires_in_days is None:
        return min(DEFAULT_EXPIRES_IN_DAYS, max_days)
    if request.expires_in_days > max_days:
        message = f"must be at most {max_days} (days; the platform's SERVICE_ACCOUNT_MAX_DAYS)"
        raise InvalidInput(
            f"invalid request: expires_in_days: {message}",
            details=[{"field": "expires_in_days", "message": message}],
        )
    return request.expires_in_days


def list_for_tenant(db: Database, tenant_id: str) -> list[ServiceAccountRead]:
    """Every account of the tenant, revoked ones included (for audit); by name, newest first."""
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM service_accounts WHERE tenant_id = CAST(:tenant_id AS uuid)"
        " ORDER BY name, created_at DESC",
        tenant_id=tenant_id,
    )
    return [ServiceAccountRead.model_validate(r) for r in rows]


def get(db: Database, tenant_id: str, name: str) -> ServiceAccountRead:
    """The live account called `name`, else the most recently revoked one; NotFound if none."""
    return ServiceAccountRead.model_validate(_find(db, tenant_id, name))


def revoke(db: Database, tenant_id: str, name: str, revoked_by: str) -> ServiceAccountRead:
    """Revokes the live account called `name`; repeating it returns the revoked record unchanged."""
    current = _find(db, tenant_id, name, for_update=True)
    if current["revoked_at"] is not None:
        return ServiceAccountRead.model_validate(current)
    row = db.row(
        "UPDATE service_accounts SET revoked_at = now(), revoked_by = :revoked_by"
        f" WHERE id = CAST(:id AS uuid) RETURNING {_COLUMNS}",
        id=current["id"],
        revoked_by=revoked_by,
    )
    assert row is not None
    return ServiceAccountRead.model_validate(row)


def authenticate_token(db: Database, token: str) -> ServiceAccountPrincipal:
    """The principal a token stands for; Unauthenticated (token_invalid/revoked/expired) otherwise."""
    if not looks_like_token(token) or len(token) > _MAX_TOKEN_LENGTH:
        raise Unauthenticated("unknown service-account token", code="token_invalid")
    row = db.row(
        "SELECT sa.id::text AS id, sa.name, sa.role, t.id::text AS tenant_id, t.name AS tenant,"
        " sa.revoked_at IS NOT NULL OR t.deleted_at IS NOT NULL AS revoked,"
        " sa.expires_at <= now() AS expired,"
        f" sa.last_used_at IS NULL OR sa.last_used_at < now() - interval '{_LAST_USED_EVERY}' AS stale"
        " FROM service_accounts sa JOIN tenants t ON t.id = sa.tenant_id"
        " WHERE sa.token_hash = :token_hash",
        token_hash=hash_token(token),
    )
    if row is None:
        raise Unauthenticated("unknown service-account token", code="token_invalid")
    if row["revoked"]:
        raise Unauthenticated("service-account token has been revoked", code="token_revoked")
    if row["expired"]:
        raise Unauthenticated("service-account token has expired", code="token_expired")
    if row["stale"]:
        # At most one write a minute per account, however often the token is used.
        db.run(
            "UPDATE service_accounts SET last_used_at = now() WHERE id = CAST(:id AS uuid)"
            f" AND (last_used_at IS NULL OR last_used_at < now() - interval '{_LAST_USED_EVERY}')",
            id=row["id"],
        )
    return ServiceAccountPrincipal(
        id=row["id"], tenant_id=row["tenant_id"], tenant=row["tenant"], name=row["name"], role=row["role"]
    )


def is_active(db: Database, service_account_id: str) -> bool:
    """Not revoked, not expired, tenant live. Checked on every request, because API Gateway
    caches authorizer answers and a revocation must take effect at once."""
    if not is_uuid(service_account_id):
        return False
    rows = db.run(
        "SELECT EXISTS (SELECT 1 FROM service_accounts sa JOIN tenants t ON t.id = sa.tenant_id"
        " WHERE sa.id = CAST(:id AS uuid) AND sa.revoked_at IS NULL AND sa.expires_at > now()"
        " AND t.deleted_at IS NULL)",
        id=service_account_id,
    )
    return bool(rows[0][0])


def _find(db: Database, tenant_id: str, name: str, *, for_update: bool = False) -> dict[str, Any]:
    # At most one row per name is live (a partial unique index); it comes first.
    sql = (
        f"SELECT {_COLUMNS} FROM service_accounts WHERE tenant_id = CAST(:tenant_id AS uuid) AND name = :name"
        " ORDER BY revoked_at IS NULL DESC, revoked_at DESC, created_at DESC LIMIT 1"
    )
    row = db.row(
        sql + (" FOR UPDATE" if for_update else ""),
        tenant_id=tenant_id,
        name=name,
    )
    if row is None:
        raise NotFound(f"service account '{name}' not found", details={"service_account": name})
    return row
