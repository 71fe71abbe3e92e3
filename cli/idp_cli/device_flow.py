"""The OIDC device flow at the issuer (sign-in). The platform API itself is reached through the
shared client, `idp.client` (built by `Session.client`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import BaseModel, ValidationError

from idp_cli.errors import ApiError, ApiUnreachable, CliError

__all__ = ["USER_AGENT", "DeviceFlow", "DeviceGrant"]

USER_AGENT = "idp-cli/0.1"
DEFAULT_TIMEOUT = 30.0
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"



class DeviceGrant(BaseModel):
    """RFC 8628 device authorization response."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int = 600
    interval: int = 5


class DeviceFlow:
    """The OAuth 2.0 device authorization grant at an OIDC issuer, ending in an ID token."""

    def __init__(self, issuer: str, client_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.device_endpoint = f"{self.issuer}/device/authorize"
        self.token_endpoint = f"{self.issuer}/token"

    def _unreachable(self, exc: requests.RequestException) -> ApiUnreachable:
        return ApiUnreachable(
            f"cannot reach the OIDC issuer at {self.issuer}: {type(exc).__name__}",
            code="issuer_unreachable",
            hint="check --issuer / IDP_OIDC_ISSUER",
        )

    def discover(self) -> None:
        """Use the issuer's advertised endpoints when it publishes discovery; the defaults otherwise."""
        try:
            response = self.session.get(f"{self.issuer}/.well-known/openid-configuration", timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        if not response.ok:
            return
        try:
            document = response.json()
        except ValueError:
            return
        self.device_endpoint = document.get("device_authorization_endpoint") or self.device_endpoint
        self.token_endpoint = document.get("token_endpoint") or self.token_endpoint

    def _post(self, url: str, data: dict[str, str]) -> requests.Response:
        try:
            return self.session.post(url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc

    def start(self, scope: str = "openid email profile") -> DeviceGrant:
        response = self._post(self.device_endpoint, {"client_id": self.client_id, "scope": scope})
        if not response.ok:
            raise self._oauth_error(response, "the issuer refused to start the sign-in")
        try:
            return DeviceGrant.model_validate_json(response.content)
        except ValidationError as exc:
            raise CliError("the issuer's device authorization answer is not RFC 8628", code="bad_issuer") from exc

    def wait_for_id_token(
        self,
        grant: DeviceGrant,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll the token endpoint every `interval` seconds (longer after `slow_down`) until approved."""
        interval = max(float(grant.interval), 1.0)
        deadline = clock() + grant.expires_in
        data = {"grant_type": DEVICE_CODE_GRANT, "device_code": grant.device_code, "client_id": self.client_id}
        while clock() < deadline:
            sleep(interval)
            response = self._post(self.token_endpoint, data)
            if response.ok:
                id_token = _json(response).get("id_token")
                if not id_token:
                    raise CliError("the issuer answered without an ID token (is the `openid` scope allowed?)")
                return str(id_token)
            error = _json(response).get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5
                continue
            raise self._oauth_error(response, "sign-in failed")
        raise ApiError(400, "the sign-in code expired before it was approved", code="expired_token")

    def _oauth_error(self, response: requests.Response, what: str) -> ApiError:
        body = _json(response)
        code = str(body.get("error") or f"http_{response.status_code}")
        description = body.get("error_description") or response.reason
        messages = {"access_denied": "the sign-in was denied", "expired_token": "the sign-in code expired"}
        return ApiError(response.status_code, messages.get(code, f"{what}: {description}"), code=code)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
