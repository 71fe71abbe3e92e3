"""`POST /auth/link-codes` end to end: a signed-in user gets a one-time code for Slack, through
the local API Gateway; the code is audited without itself and links the Slack user once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from idp.auth import slack_links
from idp.db import Database
from idp.errors import InvalidInput

ALICE = "alice@example.com"
AUDIENCE = "idp-test-client"  # tests/conftest.py's TEST_OIDC_AUDIENCE


def _signed_in_token(api: Any, oidc_issuer: Any, user: str = ALICE) -> str:
    id_token = oidc_issuer.issue(f"oidc|{user}", email=user, name="Alice Liddell", audience=AUDIENCE)
    response = api.call("POST", "/auth/token", user=None, json={"id_token": id_token})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _create(api: Any, token: str) -> Any:
    return api.call("POST", "/auth/link-codes", user=None, headers={"Authorization": f"Bearer {token}"})


def test_a_signed_in_user_gets_a_code_that_links_slack_once(
    api: Any, db: Database, oidc_issuer: Any, idp_logs: Any
) -> None:
    token = _signed_in_token(api, oidc_issuer)
    response = _create(api, token)
    assert response.status_code == 201, response.text
    body = response.json()
    code = body["code"]
    assert set(body) == {"code", "expires_at", "instructions"}
    assert len(code) == 8 and body["instructions"] == f"In Slack, type: /idp link {code}"
    expires_at = datetime.fromisoformat(body["expires_at"])
    expires_in = expires_at - datetime.now(expires_at.tzinfo)
    assert timedelta(minutes=9) < expires_in <= timedelta(minutes=10)

    (entry,) = db.rows(
        "SELECT actor, actor_kind, action, target, outcome, details::text AS details FROM audit_log"
        " WHERE action = 'slack.link_code'"
    )
    assert (entry["actor"], entry["actor_kind"], entry["action"], entry["target"], entry["outcome"]) == (
        ALICE,
        "user",
        "slack.link_code",
        ALICE,
        "ok",
    )
    assert code not in entry["details"]
    logs = idp_logs.text()
    assert "slack link code issued" in logs and code not in logs

    with db.transaction():
        link = slack_links.link_by_code(db, team_id="T0001", slack_user_id="U1", code=code)
    assert link.user_id == ALICE and link.linked_via == "code"
    with pytest.raises(InvalidInput), db.transaction():
        slack_links.link_by_code(db, team_id="T0001", slack_user_id="U2", code=code)


def test_a_user_who_never_signed_in_is_told_to(api: Any, db: Database) -> None:
    response = api.call("POST", "/auth/link-codes", user="nobody@example.com")
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "user_not_found" and "idp login" in error["message"]
    assert db.rows("SELECT * FROM slack_link_codes") == []


def test_service_accounts_and_anonymous_callers_get_no_code(api: Any, db: Database) -> None:
    from idp.schemas.service_accounts import ServiceAccountCreate
    from idp.schemas.tenants import Quota
    from idp.service_accounts import service as accounts
    from idp.tenants import service as tenants

    with db.transaction():
        tenant = tenants.insert_tenant(
            db,
            name="payments",
            display_name="Payments",
            environments=["dev"],
            quotas={"dev": Quota()},
            created_by=ALICE,
        )
        created = accounts.create(
            db,
            tenant_id=tenant.id,
            tenant_name=tenant.name,
            request=ServiceAccountCreate(name="ci", role="admin"),
            created_by=ALICE,
            max_days=90,
        )
    as_account = _create(api, created.token)
    assert as_account.status_code == 403, as_account.text
    assert api.call("POST", "/auth/link-codes", user=None).status_code == 401
    assert db.rows("SELECT * FROM slack_link_codes") == []
