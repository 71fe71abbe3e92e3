-- Service accounts: machine tokens (CI, the CLI) scoped to one tenant with one role.
-- Only the SHA-256 of each token is stored, never the token itself. token_prefix is the
-- token's first 12 characters, safe to show in lists so people can tell tokens apart.
-- Rows stay after revocation for audit, and a revoked account frees its name.
CREATE TABLE service_accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
    token_hash    text NOT NULL UNIQUE,
    token_prefix  text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    last_used_at  timestamptz
);

CREATE UNIQUE INDEX service_accounts_live_name ON service_accounts (tenant_id, name) WHERE revoked_at IS NULL;

CREATE INDEX service_accounts_tenant ON service_accounts (tenant_id, name);
