"""Secrets Manager through the AWS Parameters and Secrets Lambda Extension: a read without boto3.

The extension (a Lambda layer) answers on localhost: `GET /secretsmanager/get?secretId=<id>` with
the header `X-Aws-Parameters-Secrets-Token: <AWS_SESSION_TOKEN>` returns GetSecretValue's JSON
(`SecretString`, or `SecretBinary` in base64); a Secrets Manager error comes back with its HTTP
status. Only `idp.env.read_secret` calls this: it decides when the extension is there.

urllib from the standard library, not requests: on the authorizer's path PyJWT has already
imported urllib.request and http.client, so this costs nothing there, where requests would add
~30-60 ms of imports (bench/cold_start.py measures the path).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from idp.errors import DownstreamError

__all__ = ["TOKEN_HEADER", "get_secret_string"]

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
_CODE = "secrets_unavailable"
_opener: Any = None


def get_secret_string(secret_id: str, *, port: int, token: str, timeout: float = 5.0) -> str:
    """The secret's current value, as the extension on `port` returns it."""
    global _opener
    import urllib.error
    import urllib.request

    if _opener is None:
        # No proxy: whatever HTTP(S)_PROXY says, the extension is on this machine.
        _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://localhost:{port}/secretsmanager/get?secretId={quote(secret_id, safe='')}"
    request = urllib.request.Request(url, headers={TOKEN_HEADER: token})
    try:
        with _opener.open(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise DownstreamError(
            f"the Parameters and Secrets extension could not read a secret (HTTP {exc.code})", code=_CODE
        ) from None
    except (OSError, ValueError) as exc:  # refused, timed out, or not JSON
        raise DownstreamError(
            f"the Parameters and Secrets extension on port {port} did not answer: {type(exc).__name__}", code=_CODE
        ) from None
    if isinstance(answer, dict) and isinstance(answer.get("SecretString"), str):
        return str(answer["SecretString"])
    if isinstance(answer, dict) and isinstance(answer.get("SecretBinary"), str):
        return base64.b64decode(answer["SecretBinary"]).decode()
    raise DownstreamError("the Parameters and Secrets extension answered without a secret value", code=_CODE)
