"""Users: created on their first sign-in, updated on later ones; and what they belong to.

Services take the Database first and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from idp.clients.oidc import OidcIdentity
from idp.db import Database
from idp.errors import Unauthenticated
from idp.schemas.auth import TenantRole, UserRecord

__all__ = ["get_user", "record_sign_in", "tenant_roles"]

_COLUMNS = "id, email, name, oidc_issuer, oidc_subject, created_at, last_login_at"


def record_sign_in(db: Database, identity: OidcIdentity) -> tuple[UserRecord, bool]:
    """The user `identity` signs in as, created on the first sign-in; (user, created).

    Only identities with a verified e-mail are accepted. The platform subject is the
    verified e-mail of the first sign-in; later sign-ins of the same issuer subject keep it
    (memberships do not move when an e-mail changes) and update e-mail, name and last login.
    An e-mail already known from another issuer subject is taken over by the new one: the
    issuer has just verified that this identity owns the address.
    """
    if not identity.email or not identity.email_verified:
        raise Unauthenticated(
            "the sign-in token carries no verified e-mail address; verify your e-mail at your identity provider",
            code="email_not_verified",
        )
    email = identity.email.strip().lower()
    known = db.row(
        f"SELECT {_COLUMNS} FROM users WHERE oidc_issuer = :iss AND oidc_subject = :sub FOR UPDATE",
        iss=identity.issuer,
        sub=identity.subject,
    )
    if known is not None:
        row = db.row(
            f"UPDATE users SET email = :email, name = COALESCE(:name, name), last_login_at = now()"
            f" WHERE id = :id RETURNING {_COLUMNS}",
            id=known["id"],
            email=email,
            name=identity.name,
        )
        assert row is not None
        return UserRecord.model_validate(row), False
    row = db.row(
        "INSERT INTO users (id, email, name, oidc_issuer, oidc_subject) VALUES (:id, :id, :name, :iss, :sub)"
        " ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = COALESCE(EXCLUDED.name, users.name),"
        " oidc_issuer = EXCLUDED.oidc_issuer, oidc_subject = EXCLUDED.oidc_subject, last_login_at = now()"
        f" RETURNING {_COLUMNS}, (xmax = 0) AS created",
        id=email,
        name=identity.name,
        iss=identity.issuer,
        sub=identity.subject,
    )
    assert row is not None
    created = bool(row.pop("created"))
    return UserRecord.model_validate(row), created


def get_user(db: Database, user_id: str) -> UserRecord | None:
    row = db.row(f"SELECT {_COLUMNS} FROM users WHERE id = :id", id=user_id)
    return UserRecord.model_validate(row) if row else None


def tenant_roles(db: Database, user_id: str) -> list[TenantRole]:
    """The live tenants `user_id` is a member of, with the role in each, by name."""
    rows = db.rows(
        "SELECT t.name, m.role FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id"
        " WHERE m.user_id = :user AND t.deleted_at IS NULL ORDER BY t.name",
        user=user_id,
    )
    return [TenantRole.model_validate(r) for r in rows]
