"""Deployment and approval-policy rows. Plain functions, the Database first; they never commit.

The Slack notification outbox rows are `idp.deploy.outbox`.

Deployments
    `insert_deployment`, `get_deployment(db, id, lock=None|"update"|"skip")` (a lock needs an open
    transaction; "skip" is FOR UPDATE SKIP LOCKED: None when another process holds the row),
    `find_by_idempotency_key`, `list_deployments`, and guarded transitions (`decide`, `expire`,
    `mark_syncing`, `record_start_failure`, `finish`): each is an ``UPDATE ... WHERE state = ...``
    that returns None when the row was no longer in the expected state.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from idp.db import Database, is_uuid
from idp.schemas.deploy import DeploymentKind, DeploymentRead, DeploymentState, DeployPolicyUpdate

__all__ = [
    "DeploymentRecord",
    "PolicyRow",
    "active_ids",
    "current_target_revision",
    "db_now",
    "decide",
    "expire",
    "find_by_idempotency_key",
    "finish",
    "get_deployment",
    "get_policy_row",
    "ids_for_deleted_apps",
    "insert_deployment",
    "list_deployments",
    "lock_idempotency_key",
    "mark_syncing",
    "overdue_approval_ids",
    "record_start_failure",
    "set_waiting_message",
    "succeeded_deployments",
    "syncing_for",
    "upsert_policy",
]

Lock = Literal["update", "skip"] | None


class DeploymentRecord(BaseModel):
    """A deployments row with its tenant's and app's names."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    id: str
    tenant_id: str
    tenant: str
    app_id: str
    app: str
    environment: str
    kind: DeploymentKind
    revision: str
    previous_revision: str | None
    state: DeploymentState
    message: str | None
    requested_by: str
    requested_via: str
    requested_at: datetime
    approval_required: bool
    approval_expires_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None
    sync_started_at: datetime | None
    finished_at: datetime | None
    deployed_revision: str | None
    argocd_history_id: int | None
    attempts: int
    slack_channel: str | None
    slack_ts: str | None
    idempotency_key: str | None
    request_fingerprint: str | None
    updated_at: datetime

    def read(self) -> DeploymentRead:
        duration = None
        if self.sync_started_at is not None and self.finished_at is not None:
            duration = round((self.finished_at - self.sync_started_at).total_seconds(), 3)
        return DeploymentRead.model_validate({**self.model_dump(), "duration_seconds": duration})


class PolicyRow(BaseModel):
    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    approval_environments: list[str]
    approval_channel: str | None
    approval_ttl_seconds: int
    updated_by: str
    updated_at: datetime


_COLUMNS = (
    "d.id::text AS id, d.tenant_id::text AS tenant_id, t.name AS tenant, d.app_id::text AS app_id, a.name AS app,"
    " d.environment, d.kind, d.revision, d.previous_revision, d.state, d.message, d.requested_by, d.requested_via,"
    " d.requested_at, d.approval_required, d.approval_expires_at, d.decided_by, d.decided_at, d.decision_comment,"
    " d.sync_started_at, d.finished_at, d.deployed_revision, d.argocd_history_id, d.attempts, d.slack_channel,"
    " d.slack_ts, d.idempotency_key, d.request_fingerprint, d.updated_at"
)
_JOIN = "JOIN tenants t ON t.id = d.tenant_id JOIN apps a ON a.id = d.app_id"
_LOCKS = {None: "", "update": " FOR UPDATE OF d", "skip": " FOR UPDATE OF d SKIP LOCKED"}




def db_now(db: Database) -> datetime:
    """The database's clock (the start of the current transaction inside one)."""
    value = db.run("SELECT now()")[0][0]
    assert isinstance(value, datetime)
    return value


# -- deployments ------------------------------------------------------------------------
def insert_deployment(
    db: Database,
    *,
    tenant_id: str,
    app_id: str,
    environment: str,
    kind: DeploymentKind,
    revision: str,
    previous_revision: str | None,
    state: Literal["pending_approval", "approved"],
    requested_by: str,
    requested_via: str,
    approval_ttl_seconds: int | None,
    slack_channel: str | None,
    idempotency_key: str | None,
    request_fingerprint: str | None,
) -> DeploymentRecord:
    """A new deployment; `approval_ttl_seconds` (None: no approval needed) sets approval_expires_at."""
    row = db.row(
        "WITH d AS (INSERT INTO deployments (tenant_id, app_id, environment, kind, revision, previous_revision,"
        " state, requested_by, requested_via, approval_required, approval_expires_at, slack_channel,"
        " idempotency_key, request_fingerprint)"
        " VALUES (CAST(:tenant_id AS uuid), CAST(:app_id AS uuid), :environment, :kind, :revision, :previous,"
        " :state, :requested_by, :requested_via, :required,"
        " CASE WHEN CAST(:ttl AS integer) IS NULL THEN NULL ELSE now() + make_interval(secs => :ttl) END,"
        " :slack_channel, :idempotency_key, :fingerprint) RETURNING *)"
        f" SELECT {_COLUMNS} FROM d {_JOIN}",
        tenant_id=tenant_id,
        app_id=app_id,
        environment=environment,
        kind=kind,
        revision=revision,
        previous=previous_revision,
        state=state,
        requested_by=requested_by,
        requested_via=requested_via,
        required=approval_ttl_seconds is not None,
        ttl=approval_ttl_seconds,
        slack_channel=slack_channel,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint,
    )
    assert row is not None
    return DeploymentRecord.model_validate(row)


def get_deployment(db: Database, deployment_id: str, *, lock: Lock = None) -> DeploymentRecord | None:
    """The deployment (any id text is accepted: a malformed one is simply not found)."""
    if not is_uuid(deployment_id):
        return None
    row = db.row(
        f"SELECT {_COLUMNS} FROM deployments d {_JOIN} WHERE d.id = CAST(:id AS uuid){_LOCKS[lock]}",
        id=deployment_id,
    )
    return DeploymentRecord.model_validate(row) if row else None


def lock_idempotency_key(db: Database, *, tenant_id: str, requested_by: str, key: str) -> None:
    """Serializes requests carrying the same key (until the transaction ends), so a replay never races the first."""
    db.run(
        "SELECT pg_advisory_xact_lock(hashtextextended(:text, 0))",
        text=f"deployment-idempotency:{tenant_id}:{requested_by}:{key}",
    )


def find_by_idempotency_key(db: Database, *, tenant_id: str, requested_by: str, key: str) -> DeploymentRecord | None:
    row = db.row(
        f"SELECT {_COLUMNS} FROM deployments d {_JOIN} WHERE d.tenant_id = CAST(:tenant_id AS uuid)"
        " AND d.requested_by = :requested_by AND d.idempotency_key = :key",
        tenant_id=tenant_id,
        requested_by=requested_by,
        key=key,
    )
    return DeploymentRecord.model_validate(row) if row else None


def list_deployments(
    db: Database, app_id: str, *, environment: str | None = None, limit: int = 20
) -> list[DeploymentRecord]:
    """Newest first."""
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM deployments d {_JOIN} WHERE d.app_id = CAST(:app_id AS uuid)"
        " AND (CAST(:environment AS text) IS NULL OR d.environment = :environment)"
        " ORDER BY d.requested_at DESC, d.id DESC LIMIT :limit",
        app_id=app_id,
        environment=environment,
        limit=limit,
    )
    return [DeploymentRecord.model_validate(r) for r in rows]


def succeeded_deployments(db: Database, app_id: str, environment: str, *, limit: int = 50) -> list[DeploymentRecord]:
    """Succeeded deployments of one environment, the most recently finished first."""
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM deployments d {_JOIN} WHERE d.app_id = CAST(:app_id AS uuid)"
        " AND d.environment = :environment AND d.state = 'succeeded'"
        " ORDER BY d.finished_at DESC, d.id DESC LIMIT :limit",
        app_id=app_id,
        environment=environment,
        limit=limit,
    )
    return [DeploymentRecord.model_validate(r) for r in rows]


def syncing_for(db: Database, app_id: str, environment: str) -> DeploymentRecord | None:
    """The deployment of this app and environment whose sync is running, if any."""
    row = db.row(
        f"SELECT {_COLUMNS} FROM deployments d {_JOIN} WHERE d.app_id = CAST(:app_id AS uuid)"
        " AND d.environment = :environment AND d.state = 'syncing' ORDER BY d.sync_started_at LIMIT 1",
        app_id=app_id,
        environment=environment,
    )
    return DeploymentRecord.model_validate(row) if row else None


def current_target_revision(db: Database, app_id: str, environment: str) -> str | None:
    """The revision the platform last pointed this environment at (the latest sync it started)."""
    rows = db.run(
        "SELECT revision FROM deployments WHERE app_id = CAST(:app_id AS uuid) AND environment = :environment"
        " AND sync_started_at IS NOT NULL ORDER BY sync_started_at DESC LIMIT 1",
        app_id=app_id,
        environment=environment,
    )
    return str(rows[0][0]) if rows else None


def active_ids(db: Database, state: Literal["approved", "syncing"], *, limit: int = 200) -> list[str]:
    """Ids of deployments in `state`, oldest request first (the poller's work list)."""
    rows = db.run(
        "SELECT d.id::text FROM deployments d JOIN apps a ON a.id = d.app_id"
        " WHERE d.state = :state AND a.deleted_at IS NULL ORDER BY d.requested_at, d.id LIMIT :limit",
        state=state,
        limit=limit,
    )
    return [str(r[0]) for r in rows]


def overdue_approval_ids(db: Database, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    rows = db.run(
        "SELECT id::text FROM deployments WHERE state = 'pending_approval'"
        " AND approval_expires_at <= COALESCE(CAST(:now AS timestamptz), now())"
        " ORDER BY approval_expires_at, id LIMIT :limit",
        now=now,
        limit=limit,
    )
    return [str(r[0]) for r in rows]


def ids_for_deleted_apps(db: Database, *, limit: int = 200) -> list[str]:
    """Unfinished deployments whose app has been deleted."""
    rows = db.run(
        "SELECT d.id::text FROM deployments d JOIN apps a ON a.id = d.app_id"
        " WHERE d.state IN ('pending_approval', 'approved', 'syncing') AND a.deleted_at IS NOT NULL"
        " ORDER BY d.requested_at, d.id LIMIT :limit",
        limit=limit,
    )
    return [str(r[0]) for r in rows]


def _transition(
    db: Database, deployment_id: str, from_states: tuple[DeploymentState, ...], assignments: str, **params: Any
) -> DeploymentRecord | None:
    """UPDATE guarded by the current state; None when the row is no longer in one of `from_states`."""
    states = ", ".join(f"'{s}'" for s in from_states)
    row = db.row(
        f"UPDATE deployments d SET {assignments}, updated_at = now() FROM tenants t, apps a"
        f" WHERE d.id = CAST(:id AS uuid) AND d.state IN ({states}) AND t.id = d.tenant_id AND a.id = d.app_id"
        f" RETURNING {_COLUMNS}",
        id=deployment_id,
        **params,
    )
    return DeploymentRecord.model_validate(row) if row else None


def decide(
    db: Database,
    deployment_id: str,
    *,
    state: Literal["approved", "rejected"],
    decided_by: str,
    comment: str | None,
) -> DeploymentRecord | None:
    finished = ", finished_at = now()" if state == "rejected" else ""
    return _transition(
        db,
        deployment_id,
        ("pending_approval",),
        f"state = :state, decided_by = :by, decided_at = now(), decision_comment = :comment{finished}",
        state=state,
        by=decided_by,
        comment=comment,
    )


def expire(db: Database, deployment_id: str) -> DeploymentRecord | None:
    return _transition(
        db,
        deployment_id,
        ("pending_approval",),
        "state = 'expired', finished_at = now(),"
        " message = 'nobody approved or rejected it before ' || to_char(approval_expires_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD HH24:MI:SS') || ' UTC'",
    )


def mark_syncing(db: Database, deployment_id: str) -> DeploymentRecord | None:
    """Approved → syncing; sync_started_at is the transaction's start (before Argo CD was asked)."""
    return _transition(
        db,
        deployment_id,
        ("approved",),
        "state = 'syncing', sync_started_at = now(), attempts = attempts + 1, message = NULL",
    )


def record_start_failure(db: Database, deployment_id: str, message: str) -> DeploymentRecord | None:
    """Stays approved (the poller retries) with the reason."""
    return _transition(db, deployment_id, ("approved",), "message = :message, attempts = attempts + 1", message=message)


def set_waiting_message(db: Database, deployment_id: str, message: str) -> DeploymentRecord | None:
    return _transition(db, deployment_id, ("approved",), "message = :message", message=message)


def finish(
    db: Database,
    deployment_id: str,
    *,
    state: Literal["succeeded", "failed"],
    from_states: tuple[DeploymentState, ...] = ("syncing",),
    message: str | None = None,
    deployed_revision: str | None = None,
    history_id: int | None = None,
) -> DeploymentRecord | None:
    return _transition(
        db,
        deployment_id,
        from_states,
        "state = :state, finished_at = now(), message = :message,"
        " deployed_revision = COALESCE(:deployed, deployed_revision),"
        " argocd_history_id = COALESCE(CAST(:history AS integer), argocd_history_id)",
        state=state,
        message=message,
        deployed=deployed_revision,
        history=history_id,
    )


# -- approval policy --------------------------------------------------------------------
def get_policy_row(db: Database, tenant_id: str) -> PolicyRow | None:
    row = db.row(
        "SELECT approval_environments, approval_channel, approval_ttl_seconds, updated_by, updated_at"
        " FROM deploy_policies WHERE tenant_id = CAST(:id AS uuid)",
        id=tenant_id,
    )
    if row is None:
        return None
    if isinstance(row["approval_environments"], str):
        row["approval_environments"] = json.loads(row["approval_environments"])
    return PolicyRow.model_validate(row)


def upsert_policy(db: Database, tenant_id: str, update: DeployPolicyUpdate, *, updated_by: str) -> PolicyRow:
    db.run(
        "INSERT INTO deploy_policies (tenant_id, approval_environments, approval_channel, approval_ttl_seconds,"
        " updated_by) VALUES (CAST(:id AS uuid), CAST(:envs AS jsonb), :channel, :ttl, :by)"
        " ON CONFLICT (tenant_id) DO UPDATE SET approval_environments = EXCLUDED.approval_environments,"
        " approval_channel = EXCLUDED.approval_channel, approval_ttl_seconds = EXCLUDED.approval_ttl_seconds,"
        " updated_by = EXCLUDED.updated_by, updated_at = now()",
        id=tenant_id,
        envs=json.dumps(update.approval_environments),
        channel=update.approval_channel,
        ttl=update.approval_ttl_seconds,
        by=updated_by,
    )
    row = get_policy_row(db, tenant_id)
    assert row is not None
    return row
