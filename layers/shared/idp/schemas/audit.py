"""Audit entries as they are read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from idp.schemas import Model

__all__ = ["AuditEntry", "AuditQuery", "Outcome"]

Outcome = Literal["ok", "denied", "failed"]


class AuditEntry(Model):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    tenant: str | None = Field(description="the tenant's name when the entry was written")
    tenant_id: str | None = Field(default=None, description="the tenant's id: tells apart tenants that shared a name")
    front_end: str
    request_id: str | None
    outcome: Outcome
    details: dict[str, Any]


class AuditQuery(Model):
    """What to read. `tenant_ids` None reads every entry; a list reads only those tenants' entries."""

    tenant_ids: list[str] | None = None
    actor: str | None = Field(default=None, max_length=254)
    action: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=1000)
