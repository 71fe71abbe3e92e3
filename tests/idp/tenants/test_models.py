import pytest
from pydantic import ValidationError

from idp.tenants.models import TenantCreate


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
