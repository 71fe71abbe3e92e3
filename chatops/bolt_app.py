"""The one Bolt app: built once per container (on the first request) from settings.

`process_before_response=True` because a Lambda freezes once it has answered; slow work
runs in lazy listeners, which on Lambda re-invoke this function asynchronously and run
in-process when not on Lambda (the local gateway, `chalice local`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from listeners import register_all
from slack_bolt import App
from slack_bolt.adapter.aws_lambda.chalice_handler import ChaliceSlackRequestHandler
from slack_errors import handle_error
from slack_middleware import dedupe, resolve_caller
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from idp.config import Settings

if TYPE_CHECKING:
    from chalice import Chalice

__all__ = ["build_app", "build_handler"]


def build_app(settings: Settings) -> App:
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    client = WebClient(
        token=settings.resolved_slack_bot_token(),
        base_url=base_url,
        timeout=5,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    app = App(
        # Not "idp": Bolt resets the level of the logger named after the app, and "idp" is
        # the Powertools logger every function shares.
        name="idp-chatops",
        process_before_response=True,
        # Without this Bolt calls auth.test at every cold start before the first ack.
        token_verification_enabled=False,
        signing_secret=settings.resolved_slack_signing_secret(),
        client=client,  # carries the bot token (Bolt takes the token from the client)
    )
    app.use(dedupe)
    app.use(resolve_caller)
    app.error(handle_error)
    register_all(app)
    return app


def build_handler(settings: Settings, chalice: Chalice, *, on_lambda: bool) -> ChaliceSlackRequestHandler:
    lambda_client: Any = None
    if not on_lambda:
        # What AWS_CHALICE_CLI_MODE=true selects, without changing the process environment.
        from slack_bolt.adapter.aws_lambda.local_lambda_client import LocalLambdaClient

        no_lambda_context: Any = None  # there is no Lambda context when running locally
        lambda_client = LocalLambdaClient(chalice, no_lambda_context)
    return ChaliceSlackRequestHandler(build_app(settings), chalice, lambda_client=lambda_client)
