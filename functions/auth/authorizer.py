"""The API Gateway REQUEST authorizer for every route of the API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from idp.api.authorizer import authorize_request
from idp.config import get_settings
from idp.observability import logger


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = authorize_request(event, get_settings())
    logger.info(
        "authorized" if result["context"].get("user_id") else "denied",
        extra={"principal": result["principalId"], "error_code": result["context"].get("error_code")},
    )
    return result
