"""Pydantic models for applications, deployments and the approval policy, at every boundary."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from idp.repo_urls import normalize_repo_url
from idp.schemas import Model
from idp.schemas.grammar import AppName, EnvironmentName, Revision, SlackChannel, Text

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "AppCreate",
    "AppEnvironmentStatus",
    "AppRead",
    "AppStatus",
    "DeployPolicyRead",
    "DeployPolicyUpdate",
    "DeploymentCreate",
    "DeploymentDecision",
    "DeploymentKind",
    "DeploymentRead",
    "DeploymentState",
    "RollbackCreate",
]

DeploymentState = Literal["pending_approval", "approved", "rejected", "expired", "syncing", "succeeded", "failed"]
DeploymentKind = Literal["deploy", "rollback"]
AppStatus = Literal["provisioning", "ready", "not_ready", "deleting", "deleted"]
# Not final: the poller keeps working on these.
ACTIVE_STATES: tuple[DeploymentState, ...] = ("pending_approval", "approved", "syncing")
FINAL_STATES: tuple[DeploymentState, ...] = ("rejected", "expired", "succeeded", "failed")



class _Strict(Model):
    model_config = ConfigDict(extra="forbid")


# -- applications ---------------------------------------------------------------------
class AppCreate(_Strict):
    name: AppName = Field(description="DNS-1123 label; Argo CD apps are <tenant>-<name>-<env>")
    repo_url: str = Field(min_length=1, max_length=500, description="one of the tenant's registered repositories")
    path: str = Field(default=".", min_length=1, max_length=300, description="folder of the manifests in the repo")
    environments: list[EnvironmentName] | None = Field(
        default=None, min_length=1, max_length=10, description="tenant environments to deploy to; default all"
    )

    @field_validator("repo_url")
    @classmethod
    def _repo(cls, value: str) -> str:
        return normalize_repo_url(value)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        clean = value.strip().strip("/") or "."
        if clean.startswith("-") or ".." in clean.split("/") or not re.fullmatch(r"[A-Za-z0-9._/-]+", clean):
            raise ValueError("path must be a relative folder inside the repository (letters, digits, . _ - /)")
        return clean

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("environments must not repeat")
        return value


class AppEnvironmentStatus(Model):
    """Argo CD's live view of one environment of an app (None fields: Argo CD did not say)."""

    environment: str
    argocd_app: str
    namespace: str
    sync_status: str | None = None
    health_status: str | None = None
    health_message: str | None = None
    revision: str | None = None
    operation_phase: str | None = None
    operation_message: str | None = None
    last_deployed_at: datetime | None = None


class AppRead(Model):
    tenant: str
    name: str
    repo_url: str
    path: str
    environments: list[str]
    status: AppStatus
    status_reason: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    live: list[AppEnvironmentStatus] | None = Field(
        default=None, description="per environment, from Argo CD (only on GET of one app)"
    )


# -- deployments ----------------------------------------------------------------------
class DeploymentCreate(_Strict):
    environment: EnvironmentName
    revision: Revision = Field(default="HEAD", description="branch, tag or commit SHA")
    slack_channel: SlackChannel | None = Field(
        default=None, description="Slack channel to report progress in (chat-ops sets it)"
    )


class RollbackCreate(_Strict):
    environment: EnvironmentName
    to: Revision | None = Field(
        default=None,
        description="a deployment id or a revision that succeeded before; default the one before the current",
    )
    slack_channel: SlackChannel | None = None


class DeploymentDecision(_Strict):
    comment: Text | None = Field(default=None, max_length=500)


class DeploymentRead(Model):
    id: str
    tenant: str
    app: str
    environment: str
    kind: DeploymentKind
    revision: str
    previous_revision: str | None = Field(
        default=None, description="the last revision that succeeded in this environment when it was requested"
    )
    state: DeploymentState
    message: str | None = None
    requested_by: str
    requested_via: str
    requested_at: datetime
    approval_required: bool
    approval_expires_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_comment: str | None = None
    sync_started_at: datetime | None = None
    finished_at: datetime | None = None
    deployed_revision: str | None = None
    duration_seconds: float | None = Field(default=None, description="sync start to final state")
    slack_channel: str | None = None


# -- approval policy ------------------------------------------------------------------
class DeployPolicyRead(Model):
    tenant: str
    approval_environments: list[str] = Field(description="environments whose deploys need an approval")
    approval_channel: str | None = Field(default=None, description="Slack channel id where approvals are asked")
    approval_ttl_seconds: int
    approvers: list[str] = Field(default_factory=list, description="the tenant's owners and admins")


class DeployPolicyUpdate(_Strict):
    """PUT: the whole policy."""

    approval_environments: list[EnvironmentName] = Field(max_length=10)
    approval_channel: SlackChannel | None = None
    approval_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @field_validator("approval_environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("approval_environments must not repeat")
        return value
