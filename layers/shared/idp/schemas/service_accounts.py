"""Pydantic models for service accounts, at every boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from idp.kube_names import MAX_LABEL, validate_dns1123_label
from idp.schemas import Model

__all__ = [
    "ServiceAccountCreate",
    "ServiceAccountCreated",
    "ServiceAccountPrincipal",
    "ServiceAccountRead",
    "ServiceAccountRole",
]

# A service account can never be an owner: owners manage owners, and that stays with people.
ServiceAccountRole = Literal["admin", "developer", "viewer"]


class ServiceAccountCreate(Model):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_LABEL, description="DNS-1123 label, unique among live accounts")
    role: ServiceAccountRole
    # The cap is the platform's setting, so only the service knows it (a client's copy of the
    # model cannot): it applies the default and refuses more than the cap.
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        description="the token stops working after this; default and maximum: the platform's"
        " SERVICE_ACCOUNT_MAX_DAYS (90 unless configured; the default is never above 90)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_dns1123_label(value)


class ServiceAccountRead(Model):
    """A service account as shown to people; never carries the token or its hash."""

    id: str
    name: str
    role: ServiceAccountRole
    token_prefix: str = Field(description="the token's first characters, to tell tokens apart")
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ServiceAccountCreated(ServiceAccountRead):
    """Returned once, at creation: the only time the token is ever shown."""

    token: str = Field(description="store it now; the platform keeps only its hash")


class ServiceAccountPrincipal(Model):
    """Who a valid service-account token stands for."""

    id: str
    tenant_id: str = Field(description="the tenant's id: what the account's rights follow")
    tenant: str = Field(description="tenant name, for people")
    name: str
    role: str
