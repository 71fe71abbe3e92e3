"""Who is asking: the Slack user, the platform user it is linked to, and how to reach the API
as that user.

The chat-ops function cannot sign platform tokens: for each request it asks the auth function
for the linked user's five-minute token (`POST /auth/slack/token`, signed with the function's
own IAM role), and the caller carries that token for the rest of the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api_client import chatops_api, user_api

from idp.client import PlatformClient
from idp.errors import DownstreamError, Forbidden, NotFound

__all__ = ["LINK_FIRST", "SlackCaller", "linked_user_of", "resolve_caller"]

LINK_FIRST = (
    "Your Slack account is not linked to the platform yet. Link your account: run `idp link`"
    " in a terminal and type `/idp link &lt;code&gt;` here."
)


@dataclass(frozen=True)
class SlackCaller:
    team_id: str
    slack_user_id: str
    user_id: str | None  # the linked platform user, None when not linked (or not asked)
    api_url: str | None  # the platform API base URL (…/v1)
    token: str | None = field(default=None, repr=False)  # the linked user's platform token

    def require_user(self) -> str:
        if self.user_id is None:
            raise Forbidden(LINK_FIRST, code="slack_not_linked")
        return self.user_id

    def api(self) -> PlatformClient:
        """The API as the linked user, with the token the auth function gave for this request."""
        self.require_user()
        if not self.token:
            raise DownstreamError("the chat-ops app has no platform token for this request")
        return user_api(self.api_url, self.token)


def resolve_caller(team_id: str, slack_user_id: str, api_url: str | None, *, may_link: bool) -> SlackCaller:
    """The caller with the linked user's token (one exchange at the auth function).

    A Slack user not linked yet is linked first when `may_link` and Slack confirms an e-mail
    a platform user has (the auth function asks Slack, never trusting one we pass); otherwise
    the caller has no user.
    """
    service = chatops_api(api_url)
    try:
        issued = service.slack_token(team_id, slack_user_id)
    except NotFound as exc:
        if exc.code != "slack_not_linked":
            raise
        if not may_link or linked_user_of(service, team_id, slack_user_id) is None:
            return SlackCaller(team_id, slack_user_id, None, api_url)
        issued = service.slack_token(team_id, slack_user_id)
    return SlackCaller(team_id, slack_user_id, issued.user_id, api_url, issued.token)


def linked_user_of(service: PlatformClient, team_id: str, slack_user_id: str) -> str | None:
    """The platform user a Slack user is linked to, linking them now by the e-mail Slack confirms
    if they are not yet; None when neither (`service`: `chatops_api`)."""
    try:
        return service.slack_link(team_id, slack_user_id).user_id
    except NotFound as exc:
        if exc.code != "slack_not_linked":
            raise
        return None
