-- Slack requests the chat-ops app has already acted on, so a duplicated delivery does not
-- act twice. Slash commands and interactions are keyed on their trigger_id, Events API
-- deliveries on their event_id (retries carry the same one). Rows older than a day are
-- pruned by the app: Slack never redelivers that late.
CREATE TABLE slack_deliveries (
    delivery_key  text PRIMARY KEY,
    kind          text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX slack_deliveries_received ON slack_deliveries (received_at);
