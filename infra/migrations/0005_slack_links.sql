-- Slack identities linked to platform users: the chat-ops app acts only for a linked user,
-- with that user's rights. A Slack user is named by (team id, user id), since user ids are
-- unique only within a workspace. linked_via says how the link was proven: 'email' (Slack
-- reported the address as confirmed and a platform user has it) or 'code' (the user typed a
-- one-time code that `idp link` showed them after signing in).
CREATE TABLE slack_links (
    slack_team_id  text NOT NULL,
    slack_user_id  text NOT NULL,
    user_id        text NOT NULL REFERENCES users (id),
    linked_via     text NOT NULL CHECK (linked_via IN ('email', 'code')),
    linked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slack_team_id, slack_user_id)
);

CREATE INDEX slack_links_user ON slack_links (user_id);

-- One-time link codes. Only the SHA-256 of the normalised code is stored, never the code.
-- A code is single use (used_at) and short-lived (expires_at).
CREATE TABLE slack_link_codes (
    code_hash   text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE INDEX slack_link_codes_user ON slack_link_codes (user_id, created_at);
