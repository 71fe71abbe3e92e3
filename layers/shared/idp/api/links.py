"""HTTP route for linking a Slack account: a signed-in user asks for a one-time code.

Only signed-in users may call it (the gate's `SIGNED_IN_USER` policy keeps service accounts
out). The code appears in exactly one response and never in the logs or the audit log.
The Slack side (`/idp link <code>`) reaches `idp.auth.slack_links.link_by_code` through
`POST /auth/slack/links` (`slack_views`), which only the chat-ops function may call.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp import deps
from idp.api import context
from idp.api.contract import answers
from idp.audit import service as audit
from idp.auth import slack_links
from idp.observability import logger
from idp.schemas.auth import LinkCodeRead

__all__ = ["router"]

router = Router()


@router.post(
    "/auth/link-codes",
    summary="A one-time code linking your Slack account to you: type `/idp link <code>` in Slack",
    responses=answers(
        {201: "The code, shown this once"},
        errors={404: "user_not_found: the caller has not signed in (POST /auth/token) yet"},
    ),
)
def create_link_code() -> tuple[LinkCodeRead, int]:
    caller = context.caller(router)
    db = deps.database()
    with db.transaction():
        issued = slack_links.issue_link_code(db, caller.user_id)
        audit.record(db, caller, "slack.link_code", caller.user_id, details={"expires_at": issued.expires_at})
    logger.info("slack link code issued", extra={"user_id": caller.user_id, "expires_at": str(issued.expires_at)})
    return (
        LinkCodeRead(
            code=issued.code,
            expires_at=issued.expires_at,
            instructions=f"In Slack, type: /idp link {issued.code}",
        ),
        201,
    )
