"""The tenant `shop` with its members and the app `web`, for the argocd function's tests."""

from __future__ import annotations

from typing import Any

import pytest

ALICE = "alice@example.com"  # owner, creates the tenant
BOB = "bob@example.com"  # owner
DAVE = "dave@example.com"  # developer
VIC = "vic@example.com"  # viewer
REPO = "https://github.com/acme/web"


@pytest.fixture
def team(api: Any) -> Any:
    """The tenant `shop` (dev and prod, one repository), its members, and the app `web`; the `api` client."""
    body = {"name": "shop", "display_name": "Shop", "environments": ["dev", "prod"], "repositories": [REPO]}
    created = api.call("POST", "/tenants", user=ALICE, json=body)
    assert created.status_code == 201, created.text
    for user, role in ((BOB, "owner"), (DAVE, "developer"), (VIC, "viewer")):
        added = api.call("POST", "/tenants/shop/members", user=ALICE, json={"user": user, "role": role})
        assert added.status_code == 201, added.text
    app = api.call("POST", "/tenants/shop/apps", user=DAVE, json={"name": "web", "repo_url": REPO})
    assert app.status_code == 201, app.text
    return api
