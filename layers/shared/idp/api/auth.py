"""HTTP routes for signing in: exchange an OIDC ID token, publish the public keys, say who I am.

`POST /auth/token` and the JWKS are public (no authorizer); `GET /auth/me` is authorized.
Tokens are never logged: only who signed in, with which key, or why a sign-in was refused.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp import deps
from idp.api import context
from idp.api.authorizer import bearer_token
from idp.api.contract import answers
from idp.audit.service import record as audit
from idp.auth import keys, users
from idp.auth.tokens import issue_token
from idp.clients.oidc import OidcVerifier
from idp.config import Settings, get_settings
from idp.errors import Unauthenticated
from idp.observability import logger
from idp.schemas.auth import MeRead, TenantRole, TokenRequest, TokenResponse

__all__ = ["oidc_verifier", "router"]

router = Router()

_verifier: OidcVerifier | None = None
_verifier_lock = threading.Lock()


def oidc_verifier(settings: Settings) -> OidcVerifier:
    """The container's verifier for `OIDC_ISSUER`/`OIDC_AUDIENCE` (discovery and JWKS cached on it)."""
    global _verifier
    if not settings.oidc_issuer or not settings.oidc_audience:
        raise RuntimeError("OIDC_ISSUER and OIDC_AUDIENCE are not configured")
    with _verifier_lock:
        if (
            _verifier is None
            or _verifier.issuer != settings.oidc_issuer
            or _verifier.audience != settings.oidc_audience
        ):
            _verifier = OidcVerifier(settings.oidc_issuer, settings.oidc_audience)
        return _verifier


def _id_token(body: TokenRequest | None) -> str:
    """The ID token from `Authorization: Bearer` or the JSON body `{"id_token": ...}` (validated by the
    resolver as the route's declared body, so the contract documents it)."""
    event = router.current_event
    if any(k.lower() == "authorization" for k in (event.headers or {})):
        return bearer_token(event.headers)
    if body is None:
        raise Unauthenticated(
            'send the OIDC ID token as the JSON body {"id_token": "..."} or as "Authorization: Bearer <token>"',
            code="token_missing",
        )
    return body.id_token


@router.post(
    "/auth/token",
    summary="Exchange an OIDC ID token for a platform access token",
    description='The ID token as the JSON body {"id_token": "..."}, or as `Authorization: Bearer <ID token>`.',
    responses=answers(
        {200: "The platform token"},
        errors={
            401: "token_missing: no ID token; token_*: the ID token is invalid, expired, for another audience,"
            " or has no verified e-mail",
            502: "oidc_unavailable / signing_keys_unavailable: the OIDC issuer or the signing keys cannot be read",
        },
    ),
)
def exchange_token(body: TokenRequest | None = None) -> TokenResponse:
    settings = get_settings()
    try:
        identity = oidc_verifier(settings).verify(_id_token(body))
        db = deps.database()
        with db.transaction():
            user, created = users.record_sign_in(db, identity)
    except Unauthenticated as exc:
        logger.info("sign-in refused", extra={"error_code": exc.code, "reason": exc.message})
        _audit_refused_sign_in(exc)
        raise
    keyset = keys.load_keyset(settings)
    token = issue_token(
        settings,
        subject=user.id,
        email=user.email,
        name=user.name,
        platform_admin=user.id in settings.platform_admins,
        keyset=keyset,
    )
    with db.transaction():
        audit(
            db,
            None,
            "auth.sign_in",
            user.id,
            actor=user.id,
            actor_kind="user",
            details={"first_sign_in": created, "oidc_issuer": identity.issuer, "kid": keyset.current.kid},
        )
    logger.info(
        "signed in",
        extra={
            "user_id": user.id,
            "first_sign_in": created,
            "oidc_issuer": identity.issuer,
            "kid": keyset.current.kid,
            "expires_in": settings.jwt_ttl_seconds,
        },
    )
    return TokenResponse(access_token=token, expires_in=settings.jwt_ttl_seconds)


def _audit_refused_sign_in(exc: Unauthenticated) -> None:
    try:
        db = deps.database()
        with db.transaction():
            audit(db, None, "auth.sign_in", "oidc", outcome="denied", details={"error_code": exc.code})
    except Exception:  # the refusal itself must reach the caller even if the audit write fails
        logger.exception("could not audit a refused sign-in")


@router.get(
    "/auth/.well-known/jwks.json",
    summary="The public keys platform tokens are signed with",
    responses=answers(
        {200: "A JSON Web Key Set"},
        errors={502: "signing_keys_unavailable: the platform's signing keys cannot be read"},
    ),
)
def get_jwks() -> dict[str, Any]:
    return keys.jwks(keys.load_keyset(get_settings()))


@router.get("/auth/me", summary="The caller, and the tenants they belong to with their role")
def get_me() -> MeRead:
    caller = context.caller(router)
    if caller.kind == "service_account":
        roles = [TenantRole(name=caller.tenant, role=caller.role)] if caller.tenant and caller.role else []
        return MeRead(user_id=caller.user_id, kind="service_account", tenants=roles)
    db = deps.database()
    with db.transaction():
        user = users.get_user(db, caller.user_id)
        tenants = users.tenant_roles(db, caller.user_id)
    return MeRead(
        user_id=caller.user_id,
        email=user.email if user else caller.email,
        name=user.name if user else None,
        platform_admin=caller.platform_admin,
        tenants=tenants,
    )
