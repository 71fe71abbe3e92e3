-- Deployments: the repositories a tenant may deploy from, its applications, its approval
-- policy, every deployment with its state, and the Slack notifications still to send.

-- Repositories a tenant's Argo CD project accepts as sources (normalized URLs, no globs).
CREATE TABLE tenant_repositories (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url        text NOT NULL,
    added_by   text NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, url)
);

-- One row per application; Argo CD holds one Application per environment of it.
CREATE TABLE apps (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL,
    repo_url      text NOT NULL,
    path          text NOT NULL,
    environments  jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'provisioning'
                  CHECK (status IN ('provisioning', 'ready', 'not_ready', 'deleting', 'deleted')),
    status_reason text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);

CREATE UNIQUE INDEX apps_live_name ON apps (tenant_id, name) WHERE deleted_at IS NULL;

-- Which environments need an approval, where approvals are asked, and for how long.
-- No row: the defaults (an environment named prod needs approval, one hour to decide).
CREATE TABLE deploy_policies (
    tenant_id              uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    approval_environments  jsonb NOT NULL,
    approval_channel       text,
    approval_ttl_seconds   integer NOT NULL CHECK (approval_ttl_seconds BETWEEN 60 AND 604800),
    updated_by             text NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deployments (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id               uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment          text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('deploy', 'rollback')),
    revision             text NOT NULL,
    previous_revision    text,
    state                text NOT NULL CHECK (state IN ('pending_approval', 'approved', 'rejected', 'expired',
                                                        'syncing', 'succeeded', 'failed')),
    message              text,
    requested_by         text NOT NULL,
    requested_via        text NOT NULL,
    requested_at         timestamptz NOT NULL DEFAULT now(),
    approval_required    boolean NOT NULL,
    approval_expires_at  timestamptz,
    decided_by           text,
    decided_at           timestamptz,
    decision_comment     text,
    sync_started_at      timestamptz,
    finished_at          timestamptz,
    deployed_revision    text,
    argocd_history_id    integer,
    attempts             integer NOT NULL DEFAULT 0,
    slack_channel        text,
    slack_ts             text,
    idempotency_key      text,
    request_fingerprint  text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX deployments_app_env ON deployments (app_id, environment, requested_at DESC);
-- The poller's work list: what is not final yet.
CREATE INDEX deployments_active ON deployments (state) WHERE state IN ('pending_approval', 'approved', 'syncing');
-- A repeated request (same caller, same Idempotency-Key) returns the first deployment.
CREATE UNIQUE INDEX deployments_idempotency ON deployments (tenant_id, requested_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Slack messages about a deployment, written in the transaction of the change they report
-- and sent afterwards (again by the poller if Slack failed), in order, once each.
CREATE TABLE deployment_notifications (
    id             bigserial PRIMARY KEY,
    deployment_id  uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    kind           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text
);

CREATE INDEX deployment_notifications_unsent ON deployment_notifications (deployment_id, id) WHERE sent_at IS NULL;
