"""The auth function: sign-in (OIDC ID token → platform token), the JWKS, who am I, and the
chat-ops function's Slack routes (a linked user's token, linking)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from idp.api import build_resolver
from idp.api.auth import router as auth_router
from idp.api.contract import router as contract_router
from idp.api.links import router as link_router
from idp.api.service_accounts import router as service_accounts_router
from idp.api.slack import router as slack_router
from idp.observability import api_handler

app = build_resolver(
    [auth_router, link_router, slack_router, service_accounts_router, contract_router],
    title="IDP auth",
    description="Sign-in, the platform's public keys, the caller, service accounts, chat-ops' Slack links,"
    " and the API's contract (GET /openapi.json)",
)


@api_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
