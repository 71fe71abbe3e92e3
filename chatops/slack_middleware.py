"""Global middleware: drop duplicated deliveries, then resolve the caller.

Every request that reaches a listener carries `context["idp_caller"]` (a `SlackCaller`).
Requests that act as a platform user get the linked user's token from the auth function
(one exchange per request). A Slack user who is not linked is linked by a confirmed e-mail
when Slack vouches for one (the auth function asks `users.info` → `is_email_confirmed`);
otherwise only `/idp help` and `/idp link` go through (they need no token, so they ask for
none), and everything else answers how to link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api_client import chatops_api
from caller import LINK_FIRST, SlackCaller
from caller import resolve_caller as linked_caller
from command_parser import parse
from delivery_keys import delivery_key
from slack_bolt import BoltContext, BoltRequest, BoltResponse

import idp.observability as observability  # its Powertools logger is created on first use
from idp.config import get_settings
from idp.errors import Forbidden, InvalidInput

__all__ = ["dedupe", "resolve_caller"]

_OPEN_TO_UNLINKED = {"", "help", "link"}


def dedupe(req: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """A delivery seen before is acknowledged and dropped (lazy re-invocations pass)."""
    if req.lazy_only:
        return next()
    found = delivery_key(body)
    if found is not None and not chatops_api(_api_url(req)).claim_delivery(*found):
        retries = req.headers.get("x-slack-retry-num") or []
        retry = retries[0] if retries else None
        observability.logger.info("duplicate slack delivery dropped", extra={"key": found[0], "retry_num": retry})
        return BoltResponse(status=200, body="")
    return next()


def resolve_caller(
    req: BoltRequest,
    body: dict[str, Any],
    context: BoltContext,
    next: Callable[[], BoltResponse],
) -> BoltResponse:
    team_id, slack_user_id = context.team_id, context.user_id
    if not team_id or not slack_user_id:
        return next()  # nothing a person asked for (e.g. an event without a user)
    if _open_to_unlinked(body):
        context["idp_caller"] = SlackCaller(team_id, slack_user_id, None, _api_url(req))
        return next()
    caller = linked_caller(team_id, slack_user_id, _api_url(req), may_link=not req.lazy_only)
    context["idp_caller"] = caller
    if caller.user_id is None:
        raise Forbidden(LINK_FIRST, code="slack_not_linked")
    return next()


def _open_to_unlinked(body: dict[str, Any]) -> bool:
    if body.get("type") == "event_callback":
        return True  # mentions answer with the usage only
    if not body.get("command"):
        return False
    text = str(body.get("text") or "")
    try:
        parse(text)
    except InvalidInput:
        return True  # a usage error is answered before anything else
    words = text.split()
    return (words[0].lower() if words else "") in _OPEN_TO_UNLINKED


def _api_url(req: BoltRequest) -> str | None:
    """IDP_API_URL, else the API this request came in by (the chat-ops route is on it)."""
    configured = get_settings().idp_api_url
    if configured:
        return configured.rstrip("/")
    request_context = (req.context.get("chalice_request") or {}).get("context") or {}
    domain, stage = request_context.get("domainName"), request_context.get("stage")
    return f"https://{domain}/{stage}" if domain and stage else None
