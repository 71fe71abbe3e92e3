"""PyJWT's errors as ours: one clear message and code per failure, never the token itself."""

from __future__ import annotations

from idp.errors import Unauthenticated

__all__ = ["unauthenticated_from"]


def unauthenticated_from(exc: Exception) -> Unauthenticated:
    import jwt

    if isinstance(exc, jwt.ExpiredSignatureError):
        return Unauthenticated("token has expired", code="token_expired")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return Unauthenticated("token is not valid yet", code="token_not_yet_valid")
    if isinstance(exc, jwt.InvalidAudienceError):
        return Unauthenticated("token audience is not this API", code="token_wrong_audience")
    if isinstance(exc, jwt.InvalidIssuerError):
        return Unauthenticated("token issuer is not trusted", code="token_wrong_issuer")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return Unauthenticated("token algorithm is not allowed", code="token_bad_algorithm")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Unauthenticated(f"token lacks the '{exc.claim}' claim", code="token_invalid")
    if isinstance(exc, jwt.InvalidSignatureError):
        return Unauthenticated("token signature is invalid", code="token_bad_signature")
    return Unauthenticated("token is malformed", code="token_invalid")
