-- Tenants (teams), their members, and the record of what the platform applied for them.
CREATE TABLE tenants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    display_name  text NOT NULL,
    environments  jsonb NOT NULL,
    quotas        jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'provisioning'
                  CHECK (status IN ('provisioning', 'ready', 'not_ready', 'deleting', 'deleted')),
    status_reason text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);

-- A name is taken while its tenant lives; deleted rows stay for audit and free the name.
CREATE UNIQUE INDEX tenants_live_name ON tenants (name) WHERE deleted_at IS NULL;

CREATE TABLE tenant_members (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    added_by   text NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

CREATE INDEX tenant_members_user ON tenant_members (user_id);
