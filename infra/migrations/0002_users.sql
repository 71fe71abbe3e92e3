-- People who signed in through the OpenID Connect issuer. `id` is the platform subject
-- (the verified e-mail at first sign-in, lower case): tenant_members.user_id and every
-- platform token's `sub` name it.
CREATE TABLE users (
    id             text PRIMARY KEY,
    email          text NOT NULL,
    name           text,
    oidc_issuer    text NOT NULL,
    oidc_subject   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (oidc_issuer, oidc_subject)
);
