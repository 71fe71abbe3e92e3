"""Who is asking: the Slack user, the platform user it is linked to, and how to reach the API
as that user."""

from __future__ import annotations

from dataclasses import dataclass

from api_client import PlatformClient

from idp.errors import Forbidden

__all__ = ["LINK_FIRST", "SlackCaller"]

LINK_FIRST = (
    "Your Slack account is not linked to the platform yet. Link your account: run `idp link`"
    " in a terminal and type `/idp link &lt;code&gt;` here."
)


@dataclass(frozen=True)
class SlackCaller:
    team_id: str
    slack_user_id: str
    user_id: str | None  # the linked platform user, None when not linked
    api_url: str | None  # the platform API base URL (…/v1)

    def require_user(self) -> str:
        if self.user_id is None:
            raise Forbidden(LINK_FIRST, code="slack_not_linked")
        return self.user_id

    def api(self) -> PlatformClient:
        """The API as the linked user, with a five-minute platform token."""
        from idp import deps
        from idp.auth.slack_links import platform_token_for_slack_user
        from idp.config import get_settings
        from idp.errors import DownstreamError

        self.require_user()
        if not self.api_url:
            raise DownstreamError("the chat-ops app does not know the platform API's URL (set IDP_API_URL)")
        settings = get_settings()
        token = platform_token_for_slack_user(
            deps.database(), settings, team_id=self.team_id, slack_user_id=self.slack_user_id, ttl_seconds=300
        )
        return PlatformClient(self.api_url, token, timeout=settings.idp_api_timeout_seconds)
