"""Platform JWTs: issued by the auth function, checked by the API authorizer.

RS256 only, signed with the key set's current key and naming it in the `kid` header;
verification picks the key by `kid` among the current and previous keys. The algorithm
allow-list is `["RS256"]` and the header is checked before any key is chosen, so
`alg: none` and HS/RS confusion (a token MACed with the public key) are refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel

from idp.auth.keys import KeySet, load_keyset
from idp.clients.jwt_errors import unauthenticated_from
from idp.config import Settings
from idp.errors import Unauthenticated

__all__ = ["ALGORITHM", "TokenClaims", "issue_token", "verify_token"]

ALGORITHM = "RS256"
_MAX_TOKEN_LENGTH = 8192


class TokenClaims(BaseModel):
    sub: str
    email: str | None = None
    name: str | None = None
    kind: str = "user"
    platform_admin: bool = False
    exp: int
    iat: int
    jti: str


def issue_token(
    settings: Settings,
    *,
    subject: str,
    email: str | None = None,
    name: str | None = None,
    platform_admin: bool = False,
    ttl_seconds: int | None = None,
    keyset: KeySet | None = None,
) -> str:
    """A platform token for `subject`, valid `ttl_seconds` (default `JWT_TTL_SECONDS`)."""
    import jwt

    keyset = keyset or load_keyset(settings)
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "email": email,
        "name": name,
        "kind": "user",
        "platform_admin": platform_admin,
        "iat": now,
        "nbf": now,
        "exp": now + (ttl_seconds if ttl_seconds is not None else settings.jwt_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    key = keyset.current
    return jwt.encode(claims, key.private_key(), algorithm=ALGORITHM, headers={"kid": key.kid})


def _verification_key(token: str, keyset: KeySet) -> Any:
    import jwt

    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise Unauthenticated("token is malformed", code="token_invalid")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("token is malformed", code="token_invalid") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthenticated("token algorithm is not allowed", code="token_bad_algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("token names no signing key (kid)", code="token_unknown_key")
    key = keyset.verification_key(kid)
    if key is None:
        raise Unauthenticated("token is signed by an unknown signing key", code="token_unknown_key")
    return key.public_key()


_KEY_REFRESH_INTERVAL = 60.0
_last_key_refresh = 0.0


def _may_refresh_keys() -> bool:
    global _last_key_refresh
    now = time.monotonic()
    if now - _last_key_refresh < _KEY_REFRESH_INTERVAL:
        return False
    _last_key_refresh = now
    return True


def verify_token(settings: Settings, token: str, *, keyset: KeySet | None = None) -> TokenClaims:
    """The token's claims, or Unauthenticated saying what is wrong (never echoing the token)."""
    import jwt

    try:
        public_key = _verification_key(token, keyset or load_keyset(settings))
    except Unauthenticated as exc:
        # A kid we do not know may be a key rotated in after our cached read of the secret:
        # re-read it, at most once a minute so that made-up kids cannot flood Secrets Manager.
        if exc.code != "token_unknown_key" or keyset is not None or not _may_refresh_keys():
            raise
        public_key = _verification_key(token, load_keyset(settings, force=True))
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise unauthenticated_from(exc) from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or claims.get("kind", "user") != "user":
        raise Unauthenticated("token subject is malformed", code="token_invalid")
    try:
        return TokenClaims.model_validate({**claims, "jti": claims.get("jti") or ""})
    except ValueError as exc:
        raise Unauthenticated("token claims are malformed", code="token_invalid") from exc
