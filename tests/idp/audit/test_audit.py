"""The audit log records who did what, from which front end, with the request id; owners read
their tenant's entries, platform admins everything."""

from __future__ import annotations

from typing import Any

from idp.audit import service
from idp.db import Database
from idp.principal import Caller
from idp.schemas.audit import AuditQuery

ALICE = "alice@example.com"
BOB = "bob@example.com"


def test_tenant_changes_are_audited_with_front_end_and_request_id(api: Any, db: Database) -> None:
    created = api.call(
        "POST",
        "/tenants",
        json={"name": "payments", "display_name": "P", "environments": ["dev"]},
        headers={"X-IDP-Client": "cli"},
    )
    assert created.status_code == 201
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "viewer"}).status_code == 201
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "developer"}).status_code == 201

    entries = api.call("GET", "/audit?tenant=payments").json()
    assert [e["action"] for e in entries] == ["member.role_change", "member.add", "tenant.create"]
    create = entries[-1]
    assert create["actor"] == ALICE and create["front_end"] == "cli" and create["request_id"]
    assert entries[0]["details"] == {"role": "developer", "previous_role": "viewer"}


def test_who_reads_the_audit_log(api: Any) -> None:
    assert api.call("POST", "/tenants", json={"name": "payments", "display_name": "P", "environments": ["dev"]}).ok
    assert api.call("POST", "/tenants/payments/members", json={"user": BOB, "role": "admin"}).ok
    assert api.call("GET", "/audit?tenant=payments", user=BOB).status_code == 403
    assert api.call("GET", "/audit", user=ALICE).status_code == 403
    assert api.call("GET", "/audit?tenant=payments", user="stranger@example.com").status_code == 404
    everything = api.call("GET", "/audit", user="platform-admin@example.com")
    assert everything.status_code == 200 and len(everything.json()) == 2


def test_secrets_never_reach_the_audit_log(db: Database) -> None:
    caller = Caller(user_id=ALICE)
    with db.transaction():
        service.record(
            db, caller, "token.issue", ALICE, details={"token": "eyJsecret", "ttl": 900, "client_secret": "x"}
        )
    (entry,) = service.list_entries(db, AuditQuery())
    assert entry.details == {"ttl": 900}
