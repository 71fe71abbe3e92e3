-- Who did what, to what, when, from which front end: written in the same transaction as the change.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'service_account', 'anonymous', 'system')),
    action      text NOT NULL,
    target      text NOT NULL,
    tenant      text,
    front_end   text NOT NULL,
    request_id  text,
    outcome     text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied', 'failed')),
    details     jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_tenant_at ON audit_log (tenant, at DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC);
