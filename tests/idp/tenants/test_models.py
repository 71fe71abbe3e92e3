import re

import pytest
from pydantic import ValidationError

from idp.schemas.tenants import TenantCreate, TenantUpdate


def test_defaults_to_dev_staging_prod_with_default_quotas() -> None:
    tenant = TenantCreate(name="web", display_name="Web")
    assert tenant.environments == ["dev", "staging", "prod"]
    assert tenant.full_quotas()["prod"].cpu == "2"


def test_longest_namespace_must_fit_63_characters() -> None:
    TenantCreate(name="a" * 58, display_name="x", environments=["prod"])  # a...a-prod is 63
    with pytest.raises(ValidationError, match="would exceed 63 characters"):
        TenantCreate(name="a" * 59, display_name="x", environments=["prod"])


def test_quota_for_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError, match="environments the tenant does not have: qa"):
        TenantCreate(name="web", display_name="Web", quotas={"qa": {"cpu": "1"}})


def test_repositories_are_normalized_sorted_and_default_to_none() -> None:
    assert TenantCreate(name="web", display_name="Web").repositories == []
    tenant = TenantCreate(
        name="web", display_name="Web", repositories=["https://GitHub.com/acme/web.git/", "git@github.com:acme/api.git"]
    )
    assert tenant.repositories == ["git@github.com:acme/api", "https://github.com/acme/web"]


def test_every_bad_or_repeated_repository_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        TenantCreate(
            name="web",
            display_name="Web",
            repositories=["https://github.com/acme/web", "ftp://x/y", "https://github.com/acme/*", "HTTPS://nope"],
        )
    message = str(caught.value)
    assert "'ftp://x/y'" in message and "'https://github.com/acme/*'" in message and "'HTTPS://nope'" in message
    with pytest.raises(ValidationError, match=re.escape("repeats 'https://github.com/acme/web'")):
        TenantCreate(
            name="web", display_name="Web", repositories=["https://github.com/acme/web", "https://github.com/acme/web/"]
        )


def test_update_repositories_none_keeps_and_empty_clears() -> None:
    assert TenantUpdate().repositories is None
    assert TenantUpdate(repositories=[]).repositories == []
    assert TenantUpdate(repositories=["git@GitHub.com:acme/api"]).repositories == ["git@github.com:acme/api"]
    with pytest.raises(ValidationError, match=re.escape("'https://github.com/*'")):
        TenantUpdate(repositories=["https://github.com/*"])


def test_default_is_reserved_for_argo_cds_own_project() -> None:
    with pytest.raises(ValidationError, match="'default' is reserved"):
        TenantCreate(name="default", display_name="Default")
    TenantCreate(name="default-team", display_name="Default team")
