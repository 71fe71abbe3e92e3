"""Platform JWTs: issued by the platform, checked by the API authorizer.

The signing key comes from settings (HS256 secret, or an RS256 key pair). Only the
configured algorithm is accepted, so `alg: none` and HS/RS confusion are refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel

from idp.config import Settings
from idp.errors import Unauthenticated

__all__ = ["TokenClaims", "issue_token", "verify_token"]


class TokenClaims(BaseModel):
    sub: str
    email: str | None = None
    name: str | None = None
    kind: str = "user"
    platform_admin: bool = False
    exp: int
    iat: int
    jti: str


def _signing_key(settings: Settings) -> Any:
    if settings.jwt_algorithm == "HS256":
        secret = settings.resolved_jwt_secret()
        if not secret:
            raise RuntimeError("JWT_SECRET (or JWT_SECRET_ID) is not configured")
        return secret
    raise RuntimeError("RS256 signing needs the auth service's private key")


def _verification_key(settings: Settings) -> Any:
    if settings.jwt_algorithm == "HS256":
        return _signing_key(settings)
    if not settings.jwt_public_key:
        raise RuntimeError("JWT_PUBLIC_KEY is not configured")
    return settings.jwt_public_key


def issue_token(
    settings: Settings,
    *,
    subject: str,
    email: str | None = None,
    name: str | None = None,
    platform_admin: bool = False,
    ttl_seconds: int = 3600,
) -> str:
    import jwt

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
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=settings.jwt_algorithm)


def verify_token(settings: Settings, token: str) -> TokenClaims:
    """The token's claims, or Unauthenticated saying what is wrong (never echoing the token)."""
    import jwt

    try:
        claims = jwt.decode(
            token,
            _verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token has expired", code="token_expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthenticated("token is not valid yet", code="token_not_yet_valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("token audience is not this API", code="token_wrong_audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthenticated("token issuer is not trusted", code="token_wrong_issuer") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise Unauthenticated("token algorithm is not allowed", code="token_bad_algorithm") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"token lacks the '{exc.claim}' claim", code="token_invalid") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthenticated("token signature is invalid", code="token_bad_signature") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("token is malformed", code="token_invalid") from exc
    return TokenClaims.model_validate({**claims, "jti": claims.get("jti") or ""})
