"""AWS Signature Version 4 for `requests`: how a function calls an API Gateway route that uses
`Authorizer: AWS_IAM` (service `execute-api`), as its own IAM role.

    session.post(url, json=..., auth=SigV4Auth(region="eu-west-1"))

Credentials come from botocore's default chain (on Lambda: the role's temporary credentials
in the environment, with their session token), resolved on the first request and refreshed
by botocore when they are refreshable. botocore is imported on that first request, not at
import time: cold start pays for it only when a signed call is made.

Signed: the method, path, query, body (its SHA-256), `Host`, `Content-Type` when present,
`X-Amz-Date` and `X-Amz-Security-Token`; headers a proxy may rewrite are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from requests.auth import AuthBase

from idp.errors import DownstreamError

if TYPE_CHECKING:
    from requests import PreparedRequest

__all__ = ["SERVICE", "SigV4Auth"]

SERVICE = "execute-api"
_SIGNED = ("content-type",)
_SET_BY_SIGNER = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class SigV4Auth(AuthBase):
    """Signs each request for `service` in `region`; `credentials` (botocore's) default to the chain."""

    def __init__(self, *, region: str, service: str = SERVICE, credentials: Any = None) -> None:
        if not region:
            raise ValueError("SigV4 signing needs a region (AWS_REGION)")
        self.region, self.service = region, service
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self.region!r}, service={self.service!r})"

    def _resolved(self) -> Any:
        if self._credentials is None:
            import botocore.session

            self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                raise DownstreamError("no AWS credentials to sign the request with (botocore's default chain is empty)")
        return self._credentials

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        from botocore.auth import SigV4Auth as BotocoreSigner
        from botocore.awsrequest import AWSRequest

        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            raise TypeError("SigV4Auth signs in-memory bodies only")
        headers = {k: str(v) for k, v in request.headers.items() if k.lower() in _SIGNED}
        signed = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        frozen = self._resolved().get_frozen_credentials()
        BotocoreSigner(frozen, self.service, self.region).add_auth(signed)
        for name in _SET_BY_SIGNER:
            value = signed.headers.get(name)
            if value is not None:
                request.headers[name] = value
            else:
                request.headers.pop(name, None)
        return request
