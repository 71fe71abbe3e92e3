"""HTTP routes the chat-ops function calls for a Slack user: a short-lived platform token of the
linked user, linking, and claiming a delivery (Slack's duplicates are acted on once).

Only the chat-ops function may call them: the routes are `AWS_IAM` (API Gateway checks the
SigV4 signature) and the gate admits only a session of `CHATOPS_ROLE_ARN`; platform tokens never
reach them. So the internet-facing chat-ops function holds no signing key and writes no link
itself. Tokens are never logged; every exchange is audited (`slack.token_exchange`).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp import deps
from idp.api.contract import answers
from idp.auth import slack_deliveries, slack_links
from idp.config import get_settings
from idp.observability import logger
from idp.schemas.auth import DeliveryClaim, DeliveryClaimed, SlackLinkRead, SlackLinkRequest, SlackToken, SlackUserRef

__all__ = ["router"]

router = Router()

TOKEN_TTL_SECONDS = 300
_NOT_LINKED = "slack_not_linked: the Slack user is not linked to a platform user"


@router.post(
    "/auth/slack/token",
    summary="A linked Slack user's five-minute platform token (chat-ops only)",
    responses=answers(
        {200: "The token"},
        errors={404: _NOT_LINKED, 502: "signing_keys_unavailable: the platform's signing keys cannot be read"},
    ),
)
def exchange_token(body: SlackUserRef) -> SlackToken:
    issued = slack_links.exchange_slack_token(
        deps.database(),
        get_settings(),
        team_id=body.team_id,
        slack_user_id=body.slack_user_id,
        request_id=(router.current_event.raw_event.get("requestContext") or {}).get("requestId"),
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
    logger.info("slack token exchanged", extra={"user_id": issued.user_id, "slack_user_id": body.slack_user_id})
    return issued


@router.post(
    "/auth/slack/links",
    summary="Link a Slack user by one-time code, or by the e-mail Slack confirms; or the link it has (chat-ops only)",
    responses=answers(
        {201: "Linked now", 200: "Linked before: the link it has"},
        errors={
            404: f"{_NOT_LINKED}, and no platform user has the e-mail Slack confirms",
            429: "link_rate_limited: too many attempts with codes; wait ten minutes",
            502: "slack_error: Slack's users.info failed",
        },
    ),
)
def link_slack_user(body: SlackLinkRequest) -> tuple[SlackLinkRead, int]:
    link, created = slack_links.link_slack_user(
        deps.database(),
        lambda slack_user_id: deps.slack().confirmed_email(slack_user_id),
        team_id=body.team_id,
        slack_user_id=body.slack_user_id,
        code=body.code,
    )
    if created:
        logger.info("slack user linked", extra={"user_id": link.user_id, "linked_via": link.linked_via})
    read = SlackLinkRead(
        team_id=link.slack_team_id,
        slack_user_id=link.slack_user_id,
        user_id=link.user_id,
        linked_via=link.linked_via,
        linked_at=link.linked_at,
    )
    return read, 201 if created else 200


@router.post(
    "/auth/slack/deliveries",
    summary="Claim a Slack delivery before acting on it: first=false for a duplicate (chat-ops only)",
)
def claim_delivery(body: DeliveryClaim) -> DeliveryClaimed:
    db = deps.database()
    return DeliveryClaimed(first=slack_deliveries.claim(db, body.key, body.kind))
