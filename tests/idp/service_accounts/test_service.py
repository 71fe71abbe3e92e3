"""Service accounts on the real database: tokens shown once, stored hashed, revocable at once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from idp.db import Database
from idp.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from idp.schemas.service_accounts import ServiceAccountCreate, ServiceAccountCreated
from idp.schemas.tenants import Quota
from idp.service_accounts import service
from idp.tenants import service as tenants
from idp.tenants.service import TenantRecord

ALICE = "alice@example.com"


@pytest.fixture
def tenant(db: Database) -> TenantRecord:
    return tenants.insert_tenant(
        db, name="payments", display_name="Payments", environments=["dev"], quotas={"dev": Quota()}, created_by=ALICE
    )


def _create(
    db: Database,
    tenant: TenantRecord,
    name: str = "ci",
    role: str = "developer",
    *,
    days: int | None = None,
    max_days: int = 90,
) -> ServiceAccountCreated:
    request = ServiceAccountCreate.model_validate({"name": name, "role": role, "expires_in_days": days})
    return service.create(
        db, tenant_id=tenant.id, tenant_name=tenant.name, request=request, created_by=ALICE, max_days=max_days
    )


def _lifetime(created: ServiceAccountCreated) -> float:
    return (created.expires_at - created.created_at).total_seconds() / 86400


def _code(db: Database, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        service.authenticate_token(db, token)
    return caught.value.code


def test_create_returns_the_token_once_and_stores_only_its_hash(db: Database, tenant: TenantRecord) -> None:
    created = _create(db, tenant)
    assert created.token.startswith(service.SA_TOKEN_PREFIX) and len(created.token) >= 50
    assert created.token_prefix == created.token[:12]
    assert created.role == "developer" and created.created_by == ALICE and created.revoked_at is None
    assert 89 <= (created.expires_at - created.created_at).days <= 90

    (row,) = db.rows("SELECT * FROM service_accounts")
    assert all(created.token not in str(value) for value in row.values())
    assert row["token_hash"] == service.hash_token(created.token) != created.token
    # Reads never carry the token again.
    listed = service.list_for_tenant(db, tenant.id)
    assert [a.name for a in listed] == ["ci"] and "token" not in listed[0].model_dump()
    assert "token" not in service.get(db, tenant.id, "ci").model_dump()
    # Every account gets its own token.
    assert _create(db, tenant, "deploy").token != created.token


def test_authenticate_returns_the_principal_and_records_use_once_a_minute(db: Database, tenant: TenantRecord) -> None:
    created = _create(db, tenant, role="viewer")
    principal = service.authenticate_token(db, created.token)
    assert principal.model_dump() == {
        "id": created.id,
        "tenant_id": tenant.id,
        "tenant": "payments",
        "name": "ci",
        "role": "viewer",
    }

    first_use = service.get(db, tenant.id, "ci").last_used_at
    assert first_use is not None
    service.authenticate_token(db, created.token)
    assert service.get(db, tenant.id, "ci").last_used_at == first_use
    db.run("UPDATE service_accounts SET last_used_at = now() - interval '2 minutes'")
    service.authenticate_token(db, created.token)
    later = service.get(db, tenant.id, "ci").last_used_at
    assert later is not None and later > first_use


@pytest.mark.parametrize("token", ["", "idp_sa_", "idp_sa_nope", "eyJhbGciOi.x.y", "idp_sa_" + "a" * 1000])
def test_unknown_tokens_are_invalid(db: Database, tenant: TenantRecord, token: str) -> None:
    _create(db, tenant)
    assert _code(db, token) == "token_invalid"


def test_revoked_token_is_rejected_at_once_and_revoke_is_idempotent(db: Database, tenant: TenantRecord) -> None:
    created = _create(db, tenant)
    assert service.is_active(db, created.id)

    revoked = service.revoke(db, tenant.id, "ci", "bob@example.com")
    assert revoked.id == created.id and revoked.revoked_at is not None
    assert db.run("SELECT revoked_by FROM service_accounts") == [["bob@example.com"]]
    assert _code(db, created.token) == "token_revoked"
    assert not service.is_active(db, created.id)

    again = service.revoke(db, tenant.id, "ci", "carol@example.com")
    assert again == revoked
    assert db.run("SELECT revoked_by FROM service_accounts") == [["bob@example.com"]]

    with pytest.raises(NotFound):
        service.revoke(db, tenant.id, "nope", ALICE)
    with pytest.raises(NotFound):
        service.get(db, tenant.id, "nope")


def test_expired_token_is_rejected(db: Database, tenant: TenantRecord) -> None:
    created = _create(db, tenant)
    db.run("UPDATE service_accounts SET expires_at = now() - interval '1 second'")
    with pytest.raises(Unauthenticated, match="expired") as caught:
        service.authenticate_token(db, created.token)
    assert caught.value.code == "token_expired" and caught.value.status == 401
    assert not service.is_active(db, created.id)


def test_duplicate_live_name_conflicts_but_the_name_is_free_after_revoke(db: Database, tenant: TenantRecord) -> None:
    first = _create(db, tenant)
    with pytest.raises(Conflict, match="'ci' already exists"):
        _create(db, tenant, role="admin")

    service.revoke(db, tenant.id, "ci", ALICE)
    second = _create(db, tenant, role="admin")
    assert second.id != first.id
    assert service.authenticate_token(db, second.token).role == "admin"
    assert _code(db, first.token) == "token_revoked"
    assert service.get(db, tenant.id, "ci").id == second.id
    assert [(a.id, a.revoked_at is None) for a in service.list_for_tenant(db, tenant.id)] == [
        (second.id, True),
        (first.id, False),
    ]
    # Revoking by name now reaches the live one.
    assert service.revoke(db, tenant.id, "ci", ALICE).id == second.id


def test_same_name_in_another_tenant_is_fine(db: Database, tenant: TenantRecord) -> None:
    other = tenants.insert_tenant(
        db, name="search", display_name="Search", environments=["dev"], quotas={"dev": Quota()}, created_by=ALICE
    )
    _create(db, tenant)
    theirs = _create(db, other)
    assert service.authenticate_token(db, theirs.token).tenant == "search"
    assert [a.id for a in service.list_for_tenant(db, other.id)] == [theirs.id]
    with pytest.raises(NotFound):
        service.get(db, other.id, "deploy")


def test_deleted_tenant_rejects_its_tokens(db: Database, tenant: TenantRecord) -> None:
    created = _create(db, tenant)
    tenants.mark_deleted(db, tenant)
    with pytest.raises(Unauthenticated, match="revoked") as caught:
        service.authenticate_token(db, created.token)
    assert caught.value.code == "token_revoked"
    assert not service.is_active(db, created.id)


def test_is_active_for_unknown_or_malformed_ids(db: Database, tenant: TenantRecord) -> None:
    _create(db, tenant)
    assert not service.is_active(db, "00000000-0000-0000-0000-000000000000")
    assert not service.is_active(db, "not-a-uuid")


def test_services_never_commit(db: Database, tenant: TenantRecord) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        created = _create(db, tenant)
        raise RuntimeError("roll back")
    assert db.run("SELECT count(*) FROM service_accounts") == [[0]]
    assert _code(db, created.token) == "token_invalid"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "CI", "role": "developer"}, "name"),
        ({"name": "ci_bot", "role": "developer"}, "name"),
        ({"name": "c" * 64, "role": "developer"}, "name"),
        ({"name": "ci", "role": "owner"}, "role"),
        ({"name": "ci", "role": "developer", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ci", "role": "developer", "token": "mine"}, "token"),
    ],
)
def test_create_request_is_validated(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceAccountCreate.model_validate(body)
    assert field in {str(e["loc"][0]) for e in caught.value.errors()}


def test_lifetime_defaults_to_90_days_or_the_cap_if_smaller(db: Database, tenant: TenantRecord) -> None:
    assert ServiceAccountCreate(name="ci", role="viewer").expires_in_days is None  # the service decides
    assert _lifetime(_create(db, tenant, "a", max_days=365)) == 90
    assert _lifetime(_create(db, tenant, "b", max_days=30)) == 30
    assert _lifetime(_create(db, tenant, "c", days=7, max_days=30)) == 7
    assert _lifetime(_create(db, tenant, "d", days=30, max_days=30)) == 30


def test_lifetime_above_the_cap_is_refused_and_nothing_is_created(db: Database, tenant: TenantRecord) -> None:
    with pytest.raises(InvalidInput, match="expires_in_days: must be at most 30") as caught:
        _create(db, tenant, days=31, max_days=30)
    assert caught.value.status == 422
    assert caught.value.details == [{"field": "expires_in_days", "message": caught.value.details[0]["message"]}]
    assert "SERVICE_ACCOUNT_MAX_DAYS" in caught.value.details[0]["message"]
    assert db.run("SELECT count(*) FROM service_accounts") == [[0]]
