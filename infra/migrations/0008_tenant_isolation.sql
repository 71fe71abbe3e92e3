-- Tenant isolation: the namespaces the platform owns, and audit entries that follow the
-- tenant's id rather than its name (a name can be reused after a delete; an id never is).

-- Every namespace the platform created, for exactly one tenant. The primary key makes two
-- tenants claiming one namespace impossible; the platform labels, binds, patches or deletes
-- a namespace only while this row names the tenant and the namespace carries its id.
CREATE TABLE tenant_namespaces (
    namespace    text PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    environment  text NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, environment)
);

-- Live tenants of earlier releases own the namespaces they were given.
INSERT INTO tenant_namespaces (namespace, tenant_id, environment)
SELECT t.name || '-' || e.env, t.id, e.env
FROM tenants t CROSS JOIN LATERAL jsonb_array_elements_text(t.environments) AS e(env)
WHERE t.deleted_at IS NULL
ON CONFLICT DO NOTHING;

ALTER TABLE audit_log ADD COLUMN tenant_id uuid REFERENCES tenants (id);

-- Earlier entries named the tenant only: give each the tenant that had the name at the time.
UPDATE audit_log a SET tenant_id = (
    SELECT t.id FROM tenants t
    WHERE t.name = a.tenant AND t.created_at <= a.at AND (t.deleted_at IS NULL OR t.deleted_at >= a.at)
    ORDER BY t.created_at DESC LIMIT 1
)
WHERE a.tenant IS NOT NULL;

CREATE INDEX audit_log_tenant_id_at ON audit_log (tenant_id, at DESC);
