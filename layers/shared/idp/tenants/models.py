"""Pydantic models for tenants and members, at every boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idp.kube_names import MAX_LABEL, is_dns1123_label, validate_dns1123_label, validate_quantity

__all__ = [
    "ENVIRONMENT_PATTERN",
    "MemberCreate",
    "MemberRead",
    "Quota",
    "Role",
    "TenantCreate",
    "TenantRead",
    "TenantStatus",
    "TenantUpdate",
]

Role = Literal["owner", "admin", "developer", "viewer"]
TenantStatus = Literal["provisioning", "ready", "not_ready", "deleting", "deleted"]
ENVIRONMENT_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
Quantity = Annotated[str, Field(min_length=1, max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Quota(_Strict):
    """Per-namespace limits; Kubernetes quantities."""

    cpu: Quantity = "2"
    memory: Quantity = "4Gi"
    pods: int = Field(default=20, ge=1, le=10_000)
    storage: Quantity = "20Gi"

    @field_validator("cpu", "memory", "storage")
    @classmethod
    def _quantity(cls, value: str) -> str:
        return validate_quantity(value)


def _check_environments(environments: list[str]) -> list[str]:
    if len(set(environments)) != len(environments):
        raise ValueError("environments must not repeat")
    for env in environments:
        if not is_dns1123_label(env):
            raise ValueError(f"environment {env!r} is not a DNS-1123 label (lowercase letters, digits, '-')")
    return environments


def _check_quota_keys(quotas: dict[str, Quota], environments: list[str]) -> None:
    unknown = sorted(set(quotas) - set(environments))
    if unknown:
        raise ValueError(f"quotas name environments the tenant does not have: {', '.join(unknown)}")


class TenantCreate(_Strict):
    name: str = Field(min_length=1, max_length=MAX_LABEL, description="DNS-1123 label; namespaces are <name>-<env>")
    display_name: str = Field(min_length=1, max_length=100)
    environments: list[str] = Field(default_factory=lambda: list(DEFAULT_ENVIRONMENTS), min_length=1, max_length=10)
    quotas: dict[str, Quota] = Field(default_factory=dict, description="quota per environment; defaults apply")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_dns1123_label(value)

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        return _check_environments(value)

    @model_validator(mode="after")
    def _fits(self) -> TenantCreate:
        longest = max(self.environments, key=len)
        if len(self.name) + 1 + len(longest) > MAX_LABEL:
            raise ValueError(f"namespace '{self.name}-{longest}' would exceed {MAX_LABEL} characters; shorten the name")
        _check_quota_keys(self.quotas, self.environments)
        return self

    def quota_for(self, env: str) -> Quota:
        return self.quotas.get(env) or Quota()

    def full_quotas(self) -> dict[str, Quota]:
        return {env: self.quota_for(env) for env in self.environments}


class TenantUpdate(_Strict):
    """PATCH: only the fields given change."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    environments: list[str] | None = Field(default=None, min_length=1, max_length=10)
    quotas: dict[str, Quota] | None = None

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_environments(value)


class TenantRead(BaseModel):
    name: str
    display_name: str
    environments: list[str]
    quotas: dict[str, Quota]
    namespaces: dict[str, str] = Field(description="environment -> namespace")
    status: TenantStatus
    status_reason: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class MemberCreate(_Strict):
    user: str = Field(min_length=1, max_length=254, pattern=r"^[^\s/]+$", description="platform user id (e-mail)")
    role: Role


class MemberRead(BaseModel):
    user: str
    role: Role
    added_by: str
    added_at: datetime
