"""Pydantic models for tenants and members, at every boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from idp.kube_names import MAX_LABEL, namespace_name, validate_dns1123_label, validate_quantity
from idp.repo_urls import normalize_repo_url
from idp.schemas import Model
from idp.schemas.grammar import EnvironmentName, Line, UserId, no_control_characters

__all__ = [
    "MAX_REPOSITORIES",
    "RESERVED_NAMES",
    "MemberCreate",
    "MemberRead",
    "Quota",
    "Role",
    "TenantCreate",
    "TenantRead",
    "TenantStatus",
    "TenantUpdate",
    "normalize_repositories",
]

Role = Literal["owner", "admin", "developer", "viewer"]
TenantStatus = Literal["provisioning", "ready", "not_ready", "deleting", "deleted"]
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
Quantity = Annotated[str, Field(min_length=1, max_length=32)]
RepositoryUrl = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(no_control_characters)]
MAX_REPOSITORIES = 50
# Names a tenant cannot take: its Argo CD project is named after it, and Argo CD owns `default`.
RESERVED_NAMES = {"default": "Argo CD's built-in project is called 'default'"}


class _Strict(Model):
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
    return environments


def normalize_repositories(urls: list[str]) -> list[str]:
    """Each URL normalized (`normalize_repo_url`), sorted; every bad or repeated one named in one error."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for url in urls:
        try:
            normal = normalize_repo_url(url)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if normal in seen:
            problems.append(f"{url!r} repeats {seen[normal]!r} (both are {normal})")
        else:
            seen[normal] = url
    if problems:
        raise ValueError("; ".join(problems))
    return sorted(seen)


def _check_quota_keys(quotas: dict[str, Quota], environments: list[str]) -> None:
    unknown = sorted(set(quotas) - set(environments))
    if unknown:
        raise ValueError(f"quotas name environments the tenant does not have: {', '.join(unknown)}")


class TenantCreate(_Strict):
    name: str = Field(
        min_length=1,
        max_length=MAX_LABEL,
        description="DNS-1123 label; namespaces are <name>-<environment> (environments have no '-')",
    )
    display_name: Line = Field(min_length=1, max_length=100)
    environments: list[EnvironmentName] = Field(
        default_factory=lambda: list(DEFAULT_ENVIRONMENTS), min_length=1, max_length=10
    )
    quotas: dict[str, Quota] = Field(default_factory=dict, description="quota per environment; defaults apply")
    repositories: list[RepositoryUrl] = Field(
        default_factory=list,
        max_length=MAX_REPOSITORIES,
        description="git repositories the tenant may deploy from (https://host/owner/repo or git@host:owner/repo)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = validate_dns1123_label(value)
        if name in RESERVED_NAMES:
            raise ValueError(f"'{name}' is reserved ({RESERVED_NAMES[name]}); choose another name")
        return name

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        return normalize_repositories(value)

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        return _check_environments(value)

    @model_validator(mode="after")
    def _fits(self) -> TenantCreate:
        longest = max(self.environments, key=len)
        longest_namespace = namespace_name(self.name, longest)
        if len(longest_namespace) > MAX_LABEL:
            raise ValueError(f"namespace '{longest_namespace}' would exceed {MAX_LABEL} characters; shorten the name")
        _check_quota_keys(self.quotas, self.environments)
        return self

    def quota_for(self, env: str) -> Quota:
        return self.quotas.get(env) or Quota()

    def full_quotas(self) -> dict[str, Quota]:
        return {env: self.quota_for(env) for env in self.environments}


class TenantUpdate(_Strict):
    """PATCH: only the fields given change."""

    display_name: Line | None = Field(default=None, min_length=1, max_length=100)
    environments: list[EnvironmentName] | None = Field(default=None, min_length=1, max_length=10)
    quotas: dict[str, Quota] | None = None
    repositories: list[RepositoryUrl] | None = Field(
        default=None, max_length=MAX_REPOSITORIES, description="the full new list of repositories ([] removes all)"
    )

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_environments(value)

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalize_repositories(value)


class TenantRead(Model):
    id: str = Field(description="immutable; names can be reused after a delete, ids never")
    name: str
    display_name: str
    environments: list[str]
    quotas: dict[str, Quota]
    namespaces: dict[str, str] = Field(description="environment -> namespace")
    repositories: list[str] = Field(default_factory=list, description="git repositories the tenant may deploy from")
    status: TenantStatus
    status_reason: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class MemberCreate(_Strict):
    user: UserId = Field(description="platform user id (e-mail)")
    role: Role


class MemberRead(Model):
    user: str
    role: Role
    added_by: str
    added_at: datetime
