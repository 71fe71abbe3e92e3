"""``OidcIssuer``: a small OpenID Connect issuer over real HTTP, for tests and ``make dev``.

It signs RS256 tokens with keys that can be rotated and removed, serves discovery and the
JWKS, and runs the OAuth 2.0 device authorization grant (RFC 8628) that ``idp login`` uses:
a person approves a device by opening ``/device?user_code=...&user=alice@example.com``.
No internet and no Docker. Device-flow tokens use the approving user as ``sub``; the access
token's ``aud`` is ``issuer.audience`` (default ``"idp"``), the ID token's is the client id.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.wrappers import Request, Response

from idp_local.serving import BackgroundServer, Served

__all__ = ["DEVICE_CODE_GRANT", "OidcIssuer"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words, no 0/O or 1/I mix-ups


@dataclass
class _DeviceGrant:
    client_id: str
    scope: str
    user_code: str
    expires_at: float
    user: str | None = None
    name: str | None = None
    denied: bool = False


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json", headers={"Cache-Control": "no-store"})


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


class OidcIssuer(Served):
    """A local OIDC issuer: ``OidcIssuer().start()``, then ``issue(...)``, ``rotate_key()``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.audience = "idp"  # `aud` of the access tokens the device flow hands out
        self.device_interval = 5  # seconds a device should wait between polls
        self.device_expires_in = 600
        self.token_ttl_seconds = 3600
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = ""  # the key new tokens are signed with
        self._grants: dict[str, _DeviceGrant] = {}  # by device code
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._wsgi, host, port, name="oidc-issuer")
        self.rotate_key()

    # lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The issuer identifier (``iss``), which is also its base URL."""
        return self.base_url

    # keys and tokens ------------------------------------------------------------------------
    def rotate_key(self) -> str:
        """Sign from now on with a new RSA key; earlier keys stay in the JWKS. Returns the new kid."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = uuid.uuid4().hex[:16]
        with self._lock:
            self._keys[kid] = key
            self.current_kid = kid
        return kid

    def remove_key(self, kid: str) -> None:
        """Drop a key from the JWKS (tokens it signed stop verifying); the last key cannot go."""
        with self._lock:
            if kid not in self._keys:
                raise KeyError(kid)
            if len(self._keys) == 1:
                raise ValueError("cannot remove the issuer's only key")
            del self._keys[kid]
            if kid == self.current_kid:
                self.current_kid = next(reversed(self._keys))

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            keys = list(self._keys.items())
        return {
            "keys": [
                {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}
                for kid, key in keys
            ]
        }

    def issue(
        self,
        subject: str,
        *,
        email: str | None = None,
        name: str | None = None,
        audience: str = "idp",
        ttl_seconds: int = 3600,
        extra: dict[str, Any] | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """An RS256 token signed with key ``kid`` (default: the current one).

        ``extra`` claims override the standard ones (a ``None`` value removes that claim);
        ``headers`` override header fields, e.g. ``{"kid": "made-up"}``.
        """
        now = int(time.time())
        claims: dict[str, Any] = dict(iss=self.url, sub=subject, aud=audience, iat=now, nbf=now)
        claims.update(exp=now + ttl_seconds, jti=uuid.uuid4().hex)
        if email is not None:
            claims.update(email=email, email_verified=True)
        if name is not None:
            claims["name"] = name
        for claim, value in (extra or {}).items():
            if value is None:
                claims.pop(claim, None)
            else:
                claims[claim] = value
        with self._lock:
            signing_kid = kid or self.current_kid
            key = self._keys[signing_kid]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": signing_kid, **(headers or {})})

    def discovery(self) -> dict[str, Any]:
        base = self.url
        return {
            "issuer": base,
            "jwks_uri": f"{base}/jwks",
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "device_authorization_endpoint": f"{base}/device/authorize",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "grant_types_supported": [DEVICE_CODE_GRANT],
            "scopes_supported": ["openid", "email", "profile"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    # HTTP -----------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/.well-known/openid-configuration"): lambda _: _json(self.discovery()),
            ("GET", "/jwks"): lambda _: _json(self.jwks()),
            ("GET", "/authorize"): lambda _: _oauth_error("unsupported_response_type", "only the device flow"),
            ("POST", "/device/authorize"): self._device_authorize,
            ("GET", "/device"): self._device_page,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
        }
        handler = routes.get((request.method, request.path))
        response = handler(request) if handler else _json({"error": "not_found"}, 404)
        return response(environ, start_response)

    def _device_authorize(self, request: Request) -> Response:
        client_id = request.form.get("client_id", "")
        if not client_id:
            return _oauth_error("invalid_request", "client_id is required")
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        grant = _DeviceGrant(
            client_id, request.form.get("scope", "openid"), user_code, time.time() + self.device_expires_in
        )
        with self._lock:
            self._grants[device_code] = grant
        page = f"{self.url}/device"
        body = dict(device_code=device_code, user_code=user_code, verification_uri=page)
        body.update(verification_uri_complete=f"{page}?{urlencode({'user_code': user_code})}")
        return _json({**body, "expires_in": self.device_expires_in, "interval": self.device_interval})

    def _device_page(self, request: Request) -> Response:
        user_code = request.args.get("user_code", "").strip().upper()
        user, deny = request.args.get("user", "").strip(), "deny" in request.args
        with self._lock:
            grant = next((g for g in self._grants.values() if g.user_code == user_code), None)
            live = grant is not None and grant.expires_at > time.time() and grant.user is None and not grant.denied
            if grant is not None and live and (user or deny):
                if deny:
                    grant.denied = True
                else:
                    grant.user, grant.name = user, request.args.get("name") or None
                verdict = "Sign-in denied" if deny else f"Signed in as {html.escape(user)}"
                return _page(f"<p>{verdict}. You can close this window and go back to your terminal.</p>")
        error = "<p>That code is unknown or expired.</p>" if user_code and not live else ""
        return _page(
            f"{error}<form method='get' action='/device'>"
            f"<label>Code <input name='user_code' value='{html.escape(user_code, quote=True)}'></label> "
            "<label>User <input name='user' placeholder='alice@example.com'></label> "
            "<button>Approve</button> <button name='deny' value='1'>Deny</button></form>",
            400 if error else 200,
        )

    def _token(self, request: Request) -> Response:
        if request.form.get("grant_type") != DEVICE_CODE_GRANT:
            return _oauth_error("unsupported_grant_type", "only the device code grant is supported")
        device_code = request.form.get("device_code", "")
        with self._lock:
            grant = self._grants.get(device_code)
            if grant is None or grant.client_id != request.form.get("client_id", grant.client_id):
                return _oauth_error("invalid_grant", "unknown device code")
            if grant.expires_at <= time.time():
                del self._grants[device_code]
                return _oauth_error("expired_token", "the device code has expired")
            if grant.denied:
                del self._grants[device_code]
                return _oauth_error("access_denied", "the user denied the request")
            if grant.user is None:
                return _oauth_error("authorization_pending", "waiting for the user to approve")
            del self._grants[device_code]
        user = grant.user
        email = user if "@" in user else None
        name = grant.name or user.split("@")[0]
        ttl = self.token_ttl_seconds
        access = self.issue(
            user, email=email, name=name, audience=self.audience, ttl_seconds=ttl,
            extra={"scope": grant.scope, "client_id": grant.client_id},
        )  # fmt: skip
        id_token = self.issue(
            user, email=email, name=name, audience=grant.client_id, ttl_seconds=ttl, extra={"azp": grant.client_id}
        )
        tokens = dict(access_token=access, id_token=id_token, token_type="Bearer", scope=grant.scope)
        return _json({**tokens, "expires_in": ttl})

    def _userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return _oauth_error("invalid_token", "a Bearer token is required", 401)
        try:
            with self._lock:
                key = self._keys[jwt.get_unverified_header(token).get("kid", "")]
            claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], issuer=self.url, audience=self.audience)
        except (KeyError, jwt.PyJWTError):
            return _oauth_error("invalid_token", "the access token is not valid", 401)
        return _json({k: claims[k] for k in ("sub", "email", "email_verified", "name") if k in claims})


def _page(body: str, status: int = 200) -> Response:
    document = f"<!doctype html><title>Local sign-in</title><h1>Local sign-in</h1>{body}"
    return Response(document, status, mimetype="text/html")
