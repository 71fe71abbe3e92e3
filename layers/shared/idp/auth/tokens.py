"""Platform JWTs: issued by the auth function, checked by the API authorizer.

RS256 only, signed with the key set's current key and naming it in the `kid` header;
verification picks the key by `kid` among the current and previous keys. The algorithm
allow-list is `["RS256"]` and the header is checked before any key is chosen, so
`alg: none` and HS/RS confusion (a token MACed with the public key) are refused.

Verifying is the authorizer's whole job, so its path imports no pydantic (half its floor again,
README "Cold starts"): the keys come from `idp.auth.public_keys`, the claims are a NamedTuple
checked field by field, and the settings are anything with the four `jwt_*` values
(`idp.config.Settings`, or the authorizer's `idp.env.AuthorizerSettings`). Issuing, the auth
function's, uses `idp.auth.keys`' pydantic key set, imported when a token is issued.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from idp.auth.public_keys import load_public_keys
from idp.clients.jwt_errors import unauthenticated_from
from idp.errors import Unauthenticated

if TYPE_CHECKING:
    from idp.auth.keys import KeySet
    from idp.config import Settings

__all__ = ["ALGORITHM", "TokenClaims", "VerifySettings", "issue_token", "verify_token"]

ALGORITHM = "RS256"
_MAX_TOKEN_LENGTH = 8192


class VerifySettings(Protocol):
    """What verifying a platform token reads of the settings."""

    @property
    def jwt_issuer(self) -> str: ...
    @property
    def jwt_audience(self) -> str: ...
    @property
    def jwt_leeway_seconds(self) -> int: ...
    @property
    def jwt_keys_secret_id(self) -> str | None: ...


class _PublicKeySource(Protocol):
    def public_key(self) -> Any: ...


class VerificationKeys(Protocol):
    """A key set to verify with: `idp.auth.public_keys.PublicKeySet`, or `idp.auth.keys.KeySet`."""

    def verification_key(self, kid: str) -> _PublicKeySource | None: ...


class TokenClaims(NamedTuple):
    """The claims of a verified platform token (a NamedTuple: cheaper to define than a dataclass)."""

    sub: str
    exp: int
    iat: int
    jti: str
    email: str | None = None
    name: str | None = None
    kind: str = "user"
    platform_admin: bool = False

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> TokenClaims:
        """The claims of a decoded token; ValueError naming the first claim of the wrong type."""

        def optional_text(name: str) -> str | None:
            value = payload.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"claim {name} must be a string")
            return value

        def number(name: str) -> int:
            value = payload.get(name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"claim {name} must be an integer")
            return value

        sub, kind, admin = payload.get("sub"), payload.get("kind", "user"), payload.get("platform_admin", False)
        if not isinstance(sub, str) or not isinstance(kind, str) or not isinstance(admin, bool):
            raise ValueError("claims sub and kind must be strings, platform_admin a boolean")
        return cls(
            sub=sub,
            exp=number("exp"),
            iat=number("iat"),
            jti=optional_text("jti") or "",
            email=optional_text("email"),
            name=optional_text("name"),
            kind=kind,
            platform_admin=admin,
        )


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
    import uuid

    import jwt

    from idp.auth.keys import load_keyset

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


def _verification_key(token: str, keyset: VerificationKeys) -> Any:
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


def verify_token(settings: VerifySettings, token: str, *, keyset: VerificationKeys | None = None) -> TokenClaims:
    """The token's claims, or Unauthenticated saying what is wrong (never echoing the token)."""
    import jwt

    try:
        public_key = _verification_key(token, keyset or load_public_keys(settings))
    except Unauthenticated as exc:
        # A kid we do not know may be a key rotated in after our cached read of the secret:
        # re-read it, at most once a minute so that made-up kids cannot flood Secrets Manager.
        if exc.code != "token_unknown_key" or keyset is not None or not _may_refresh_keys():
            raise
        public_key = _verification_key(token, load_public_keys(settings, force=True))
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
        return TokenClaims.from_payload(claims)
    except ValueError as exc:
        raise Unauthenticated("token claims are malformed", code="token_invalid") from exc
