"""The API Gateway REQUEST authorizer for every route of the API.

Every request API Gateway has not cached waits for it, so its cold start stays near the price of
PyJWT and cryptography (bench/cold_start.py): its settings are `idp.env`'s five (no
pydantic), the key set comes through the Parameters and Secrets extension when the
function has it (no boto3), and its one log line per decision is `JsonLog` (no Powertools).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idp.api.authorizer import authorize_request
from idp.env import authorizer_settings
from idp.observability import JsonLog

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = JsonLog()


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = authorize_request(event, authorizer_settings())
    log.info(
        "authorized" if result["context"].get("user_id") else "denied",
        principal=result["principalId"],
        error_code=result["context"].get("error_code"),
    )
    return result
