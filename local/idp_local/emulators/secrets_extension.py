"""``SecretsExtensionEmulator``: the AWS Parameters and Secrets Lambda Extension's endpoint, locally.

On Lambda the extension (a layer) serves ``GET /secretsmanager/get?secretId=<id>[&versionId=
|&versionStage=]`` on localhost:PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 by default) and
answers with GetSecretValue's JSON, for requests whose ``X-Aws-Parameters-Secrets-Token`` header
is the function's AWS_SESSION_TOKEN. This emulator does the same from the boto3 Secrets Manager
client it is given (moto's in ``make dev`` and the tests), so that ``idp.env.read_secret`` takes
the path it takes on AWS. A request without the right token is refused (401); a Secrets Manager
error comes back with its HTTP status and message. Like the extension it caches each answer
for ``ttl_seconds`` (SECRETS_MANAGER_TTL, 300) unless its cache is off
(PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED=false, as template.yaml runs the authorizer's);
``reads`` lists the secret ids it fetched from Secrets Manager, cache misses only. Parameter
Store (``/systemsmanager/parameters/get``) is not emulated: nothing here reads parameters.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from idp_local.serving import BackgroundServer, Served

__all__ = ["SecretsExtensionEmulator"]

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


def _text(body: str, status: int) -> Response:
    return Response(body, status, mimetype="text/plain")


class SecretsExtensionEmulator(Served):
    """``SecretsExtensionEmulator(secretsmanager_client, token=...).start()``; ``environment()`` to reach it."""

    def __init__(
        self,
        client: Any,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_enabled: bool = True,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port = host, port
        self.token = token
        self.cache_enabled = cache_enabled
        self.ttl_seconds = ttl_seconds
        self.reads: list[str] = []
        self._client = client
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}  # (id, version, stage) -> (time, JSON)
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._wsgi, host, port, name="secrets-extension")

    def environment(self) -> dict[str, str]:
        """The variables a function with the extension has: its port and cache setting."""
        return {
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.port),
            "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "true" if self.cache_enabled else "false",
        }

    def reset(self) -> None:
        with self._lock:
            self._cache.clear()
            self.reads.clear()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.method != "GET" or request.path != "/secretsmanager/get":
            return _text(f"not emulated: {request.method} {request.path}", 404)
        if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, ""), self.token):
            return _text(f"missing or wrong {TOKEN_HEADER} header", 401)
        secret_id = request.args.get("secretId", "")
        if not secret_id:
            return _text("secretId is required", 400)
        version_id, stage = request.args.get("versionId", ""), request.args.get("versionStage", "")
        key = (secret_id, version_id, stage)
        with self._lock:
            cached = self._cache.get(key)
        if self.cache_enabled and cached is not None and self._clock() - cached[0] < self.ttl_seconds:
            return Response(cached[1], 200, mimetype="application/json")
        from botocore.exceptions import ClientError

        args = {"SecretId": secret_id, **({"VersionId": version_id} if version_id else {})}
        args |= {"VersionStage": stage} if stage else {}
        try:
            answer = self._client.get_secret_value(**args)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            return _text(str(exc.response.get("Error", {}).get("Message") or exc), status)
        body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
        if "SecretBinary" in body:
            import base64

            body["SecretBinary"] = base64.b64encode(body["SecretBinary"]).decode()
        text = json.dumps(body, default=str)
        with self._lock:
            self.reads.append(secret_id)
            self._cache[key] = (self._clock(), text)
        return Response(text, 200, mimetype="application/json")
