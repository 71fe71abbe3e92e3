"""The external OpenID Connect issuer: discovery, its JWKS, and checking its ID tokens and JWT access tokens.

`OidcVerifier` reads the issuer's discovery document once, keeps its JWKS cached, and
checks signature, issuer, audience, expiry and algorithm. Only asymmetric algorithms are
accepted, and each key is bound to the algorithm family of its `kty`, so `alg: none` and
HS/RS confusion (a token MACed with the public key) are refused. A token naming an unknown
`kid` refreshes the JWKS at most once per `jwks_refresh_min_interval` seconds, so a flood of
made-up kids cannot turn into a flood of fetches.

`jwt` and `requests` are imported on first use: importing this module stays cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from idp.clients.jwt_errors import unauthenticated_from
from idp.errors import DownstreamError, Unauthenticated

__all__ = ["OidcIdentity", "OidcVerifier"]

# Algorithm → the JWK key type it needs. Symmetric algorithms and "none" are absent on purpose.
_KEY_TYPE_FOR_ALGORITHM = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "EdDSA": "OKP",
}
_MAX_TOKEN_LENGTH = 16_384
_JWKS_MAX_AGE_SECONDS = 3600.0  # refetch now and then, so keys the issuer removed stop verifying


class OidcIdentity(BaseModel):
    """Who a verified token says the caller is."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    issuer: str
    claims: dict[str, Any]


class OidcVerifier:
    """Verifies tokens from one issuer for one audience (or any of several).

    Build one per container and reuse it: discovery and the JWKS are cached on the instance.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | list[str],
        *,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        leeway_seconds: int = 60,
        jwks_refresh_min_interval: float = 60.0,
        http_timeout: float = 5.0,
    ) -> None:
        if not issuer:
            raise ValueError("issuer is required")
        if not audience:
            raise ValueError("audience is required")
        refused = [alg for alg in algorithms if alg not in _KEY_TYPE_FOR_ALGORITHM]
        if refused or not algorithms:
            raise ValueError(f"only asymmetric signing algorithms can be allowed, not {refused or 'none'}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_seconds = leeway_seconds
        self.jwks_refresh_min_interval = jwks_refresh_min_interval
        self.http_timeout = http_timeout
        self._lock = threading.Lock()
        self._session: Any = None
        self._jwks_uri: str | None = None
        self._jwks: dict[str, dict[str, Any]] | None = None  # kid → JWK ("" for a key without kid)
        self._jwks_fetched_at = 0.0
        self._last_fetch_attempt: float | None = None
        self._key_cache: dict[tuple[str, str], Any] = {}

    # verification ---------------------------------------------------------------------------
    def verify(self, token: str) -> OidcIdentity:
        """The caller's identity, or `Unauthenticated` saying what is wrong (never echoing the token).

        Raises `DownstreamError` (code `oidc_unavailable`) when the issuer cannot be reached.
        """
        import jwt

        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise Unauthenticated("token is malformed", code="token_invalid")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("token is malformed", code="token_invalid") from exc
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise Unauthenticated("token algorithm is not allowed", code="token_bad_algorithm")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("token key id is malformed", code="token_invalid")

        key = self._verification_key(kid, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise unauthenticated_from(exc) from exc

        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("token subject is malformed", code="token_invalid")
        email = claims.get("email")
        name = claims.get("name")
        verified = claims.get("email_verified")
        return OidcIdentity(
            subject=subject,
            email=email if isinstance(email, str) else None,
            # Some issuers send the string "true".
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
            name=name if isinstance(name, str) else None,
            issuer=self.issuer,
            claims=claims,
        )

    # keys -----------------------------------------------------------------------------------
    def _verification_key(self, kid: str | None, algorithm: str) -> Any:
        from jwt import PyJWK, PyJWKError

        with self._lock:
            now = time.monotonic()
            if self._jwks is None:
                self._refresh_jwks(now, keep_stale=False)
            elif now - self._jwks_fetched_at > _JWKS_MAX_AGE_SECONDS and self._may_fetch(now):
                self._refresh_jwks(now, keep_stale=True)
            jwk = self._find_key(kid)
            if jwk is None and self._may_fetch(now):
                self._refresh_jwks(now, keep_stale=False)
                jwk = self._find_key(kid)
            if jwk is None:
                raise Unauthenticated("token is signed by an unknown signing key", code="token_unknown_key")
            if jwk.get("kty") != _KEY_TYPE_FOR_ALGORITHM[algorithm] or jwk.get("alg", algorithm) != algorithm:
                raise Unauthenticated("token algorithm does not match its signing key", code="token_bad_algorithm")
            cache_key = (str(jwk.get("kid", "")), algorithm)
            if cache_key not in self._key_cache:
                try:
                    self._key_cache[cache_key] = PyJWK(jwk, algorithm=algorithm).key
                except PyJWKError as exc:
                    raise Unauthenticated("token signing key is unusable", code="token_unknown_key") from exc
            return self._key_cache[cache_key]

    def _find_key(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._jwks or {}
        if kid is None:
            # A token without `kid` is fine only while the issuer publishes a single key.
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def _may_fetch(self, now: float) -> bool:
        last = self._last_fetch_attempt
        return last is None or now - last >= self.jwks_refresh_min_interval

    def _refresh_jwks(self, now: float, *, keep_stale: bool) -> None:
        self._last_fetch_attempt = now  # failures count too, so an outage is not hammered
        try:
            raw_keys = self._get_json(self._discover_jwks_uri()).get("keys")
            if not isinstance(raw_keys, list):
                raise DownstreamError("the OIDC issuer's JWKS has no 'keys' list", code="oidc_unavailable")
        except DownstreamError:
            if keep_stale:
                return
            raise
        self._jwks = {
            str(jwk.get("kid", "")): jwk for jwk in raw_keys if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig"
        }
        self._jwks_fetched_at = now
        self._key_cache.clear()

    def _discover_jwks_uri(self) -> str:
        if self._jwks_uri is None:
            document = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if document.get("issuer") != self.issuer:
                raise DownstreamError(
                    "the OIDC discovery document names a different issuer than the one configured",
                    code="oidc_issuer_mismatch",
                )
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise DownstreamError("the OIDC discovery document has no jwks_uri", code="oidc_unavailable")
            self._jwks_uri = jwks_uri
        return self._jwks_uri

    def _get_json(self, url: str) -> dict[str, Any]:
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.get(url, timeout=self.http_timeout, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise DownstreamError(f"the OIDC issuer is unavailable ({url})", code="oidc_unavailable") from exc
        if not isinstance(document, dict):
            raise DownstreamError(f"the OIDC issuer sent something unexpected ({url})", code="oidc_unavailable")
        return document
