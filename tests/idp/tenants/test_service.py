"""Tenant repository rows on real PostgreSQL."""

from __future__ import annotations

import re

import pytest

from idp.db import Database
from idp.errors import InvalidInput
from idp.schemas.tenants import Quota
from idp.tenants import service

WEB = "https://github.com/acme/web"
API = "git@github.com:acme/api"


def _tenant(db: Database, name: str = "shop") -> service.TenantRecord:
    return service.insert_tenant(
        db, name=name, display_name=name, environments=["dev"], quotas={"dev": Quota()}, created_by="alice"
    )


def test_set_repositories_replaces_the_set_and_keeps_kept_rows(db: Database) -> None:
    with db.transaction():
        tenant = _tenant(db)
        other = _tenant(db, "blog")
        assert service.set_repositories(db, tenant, [WEB + ".git"], added_by="alice") == [WEB]
        service.set_repositories(db, other, [WEB], added_by="carol")
    first_added = db.run("SELECT added_at FROM tenant_repositories WHERE url = :u AND added_by = 'alice'", u=WEB)

    with db.transaction():
        assert service.set_repositories(db, tenant, [API, WEB], added_by="bob") == [API, WEB]
        assert service.get_tenant(db, "shop").repositories == [API, WEB]
    rows = db.run(
        "SELECT url, added_by, added_at FROM tenant_repositories WHERE tenant_id = CAST(:id AS uuid) ORDER BY url",
        id=tenant.id,
    )
    assert [(r[0], r[1]) for r in rows] == [(API, "bob"), (WEB, "alice")]
    assert [rows[1][2]] == first_added[0]

    with db.transaction():
        assert service.set_repositories(db, tenant, [], added_by="bob") == []
        assert service.list_repositories(db, tenant) == []
        assert service.list_repositories(db, other) == [WEB]  # another tenant's rows are untouched
        assert [t.repositories for t in service.list_tenants(db, member=None)] == [[WEB], []]


def test_set_repositories_refuses_bad_urls(db: Database) -> None:
    with db.transaction():
        tenant = _tenant(db)
    with pytest.raises(InvalidInput, match=re.escape("'https://github.com/*'")), db.transaction():
        service.set_repositories(db, tenant, ["https://github.com/*"], added_by="alice")
