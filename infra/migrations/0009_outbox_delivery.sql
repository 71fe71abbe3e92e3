-- The Slack outbox delivers at least once and looks before it posts again
-- (idp/deploy/notifications.py): a row is claimed in its own committed transaction before
-- Slack is called, retried with exponential back-off, and parked when retrying cannot help.

-- The claim: set (with attempts + 1) and committed before Slack is called, cleared with the
-- outcome. Still set after the lease (idp.deploy.outbox.CLAIM_LEASE_SECONDS) means that the
-- sender stopped mid-send: Slack may have the message, so the next sender looks first.
ALTER TABLE deployment_notifications ADD COLUMN sending_at timestamptz;

-- A failed row is not tried again before this (exponential back-off, capped).
ALTER TABLE deployment_notifications ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();

-- Parked: a permanent Slack error (channel_not_found, invalid_blocks, ...) or too many
-- failures. Skipped by every pass (its deployment's later rows wait behind it) until an
-- operator requeues it (`idp outbox requeue`).
ALTER TABLE deployment_notifications ADD COLUMN parked_at timestamptz;

-- The ts of the message the row posted (its thread reply, or the main message it updated).
ALTER TABLE deployment_notifications ADD COLUMN slack_ts text;

-- Rows the earlier rule left alone after 50 failures are parked, so they can be listed and requeued.
UPDATE deployment_notifications SET parked_at = now() WHERE sent_at IS NULL AND attempts >= 50;

-- Counting and listing the parked rows (the poller's metric, `idp outbox list`).
CREATE INDEX deployment_notifications_parked ON deployment_notifications (id)
    WHERE sent_at IS NULL AND parked_at IS NOT NULL;
