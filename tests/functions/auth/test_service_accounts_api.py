"""Service accounts end to end: a token shown once works through the authorizer with its role in
its own tenant only, and a revocation is effective at once despite API Gateway's authorizer cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from idp.config import reset_settings
from idp.db import Database

ALICE = "alice@example.com"
SA_PATH = "/tenants/payments/service-accounts"


def _setup(api: Any) -> None:
    for name in ("payments", "search"):
        body = {"name": name, "display_name": name, "environments": ["dev"]}
        assert api.call("POST", "/tenants", json=body).status_code == 201


def _as_sa(api: Any, token: str, method: str, path: str, json: Any = None) -> Any:
    return api.call(method, path, user=None, json=json, headers={"Authorization": f"Bearer {token}"})


def test_service_account_token_acts_with_its_role_in_its_tenant_only(api: Any, db: Database) -> None:
    _setup(api)
    created = api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "viewer"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("idp_sa_")
    assert token not in str(db.run("SELECT * FROM service_accounts"))

    listed = api.call("GET", "/tenants/payments/service-accounts").json()
    assert [a["name"] for a in listed] == ["ci"] and "token" not in listed[0]

    assert _as_sa(api, token, "GET", "/tenants/payments").status_code == 200
    assert [t["name"] for t in _as_sa(api, token, "GET", "/tenants").json()] == ["payments"]
    denied = _as_sa(api, token, "PATCH", "/tenants/payments", json={"display_name": "x"})
    assert denied.status_code == 403
    assert _as_sa(api, token, "GET", "/tenants/search").status_code == 404
    assert _as_sa(api, token, "POST", "/tenants", json={"name": "x", "display_name": "x"}).status_code == 403


def test_revocation_is_effective_at_once(api: Any) -> None:
    _setup(api)
    token = api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "admin"}).json()["token"]
    # The first call puts an Allow for this token in the gateway's authorizer cache (60 s).
    assert _as_sa(api, token, "GET", "/tenants/payments").status_code == 200
    revoked = api.call("DELETE", "/tenants/payments/service-accounts/ci")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    after = _as_sa(api, token, "GET", "/tenants/payments")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"


def test_service_account_changes_are_audited(api: Any) -> None:
    _setup(api)
    assert api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "viewer"}).ok
    assert api.call("DELETE", "/tenants/payments/service-accounts/ci").ok
    actions = [e["action"] for e in api.call("GET", "/audit?tenant=payments").json()]
    assert actions[:2] == ["service_account.revoke", "service_account.create"]


def test_bad_service_account_input(api: Any) -> None:
    _setup(api)
    bad = api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "owner"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "role"
    too_long = api.call(
        "POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "viewer", "expires_in_days": 9999}
    )
    assert too_long.status_code == 422
    assert (
        api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "viewer"}).status_code == 201
    )
    dup = api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "viewer"})
    assert dup.status_code == 409
    assert api.call("DELETE", "/tenants/payments/service-accounts/nope").status_code == 404


def test_service_accounts_never_create_or_revoke_service_accounts(api: Any, db: Database) -> None:
    _setup(api)
    token = api.call("POST", "/tenants/payments/service-accounts", json={"name": "ci", "role": "admin"}).json()["token"]
    assert api.call("POST", "/tenants/payments/service-accounts", json={"name": "deploy", "role": "viewer"}).ok

    minted = _as_sa(api, token, "POST", "/tenants/payments/service-accounts", json={"name": "x", "role": "admin"})
    assert minted.status_code == 403, minted.text
    assert minted.json()["error"]["code"] == "forbidden" and "token" not in minted.json()
    revoked = _as_sa(api, token, "DELETE", "/tenants/payments/service-accounts/deploy")
    assert revoked.status_code == 403, revoked.text

    rows = db.rows("SELECT name, revoked_at FROM service_accounts ORDER BY name")
    assert [(r["name"], r["revoked_at"]) for r in rows] == [("ci", None), ("deploy", None)]
    assert _as_sa(api, token, "GET", "/tenants/payments/service-accounts").status_code == 200


def _lifetime_days(account: dict[str, Any]) -> float:
    created, expires = (datetime.fromisoformat(account[k]) for k in ("created_at", "expires_at"))
    return (expires - created).total_seconds() / 86400


def test_token_lifetime_is_capped(api: Any, db: Database) -> None:
    _setup(api)
    over = api.call("POST", SA_PATH, json={"name": "ci", "role": "viewer", "expires_in_days": 91})
    assert over.status_code == 422, over.text
    error = over.json()["error"]
    assert error["code"] == "invalid_input" and "at most 90" in error["message"]
    assert [d["field"] for d in error["details"]] == ["expires_in_days"]
    assert "90" in error["details"][0]["message"]
    assert db.rows("SELECT * FROM service_accounts") == []

    at_cap = api.call("POST", SA_PATH, json={"name": "ci", "role": "viewer", "expires_in_days": 90})
    assert at_cap.status_code == 201 and _lifetime_days(at_cap.json()) == 90
    default = api.call("POST", SA_PATH, json={"name": "cd", "role": "viewer"})
    assert default.status_code == 201 and _lifetime_days(default.json()) == 90


@pytest.fixture
def max_days(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Sets SERVICE_ACCOUNT_MAX_DAYS for the platform behind the gateway."""

    def set_cap(days: int) -> None:
        monkeypatch.setenv("SERVICE_ACCOUNT_MAX_DAYS", str(days))
        reset_settings()

    yield set_cap
    monkeypatch.delenv("SERVICE_ACCOUNT_MAX_DAYS", raising=False)
    reset_settings()


def test_the_cap_is_configurable(api: Any, max_days: Callable[[int], None]) -> None:
    _setup(api)
    max_days(30)
    over = api.call("POST", SA_PATH, json={"name": "ci", "role": "viewer", "expires_in_days": 31})
    assert over.status_code == 422 and "at most 30" in over.json()["error"]["message"]
    short = api.call("POST", SA_PATH, json={"name": "ci", "role": "viewer"})
    assert short.status_code == 201 and _lifetime_days(short.json()) == 30  # the default, capped

    max_days(180)
    long = api.call("POST", SA_PATH, json={"name": "cd", "role": "viewer", "expires_in_days": 180})
    assert long.status_code == 201 and _lifetime_days(long.json()) == 180
    default = api.call("POST", SA_PATH, json={"name": "qa", "role": "viewer"})
    assert default.status_code == 201 and _lifetime_days(default.json()) == 90  # never above 90 unless asked
