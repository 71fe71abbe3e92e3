"""`idp login`, `idp logout`, `idp whoami`: signing in to the API and saying who we are.

`idp login` runs the OIDC device flow (print the URL and code, poll the issuer, exchange
the ID token at `POST /auth/token`) or takes a token (`--token`, for CI: a service-account
`idp_sa_...` token or a platform JWT), checks it with `GET /auth/me`, and stores it.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from idp_cli.commands._common import ApiUrlOption, OutputOption, Session, open_session
from idp_cli.errors import LocalInputError, handle_errors
from idp_cli.output import emit, info, render_detail, render_table, spinner, warn

__all__ = ["login", "logout", "whoami"]

SERVICE_ACCOUNT_PREFIX = "idp_sa_"


def _jwt_expiry(token: str) -> str | None:
    """The `exp` of a JWT, read without verifying (only to tell the user when to sign in again)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC).isoformat()
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _read_token(token: str) -> str:
    if token == "-":
        token = sys.stdin.readline()
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise LocalInputError("the token is empty or contains spaces", code="invalid_input")
    return token


def _device_flow_token(session: Session, issuer: str, client_id: str) -> tuple[str, int]:
    """Sign in at the issuer with the device flow; the platform token and its lifetime in seconds."""
    from idp.schemas.auth import TokenRequest, TokenResponse
    from idp_cli.device_flow import DeviceFlow

    flow = DeviceFlow(issuer, client_id)
    with spinner(f"Contacting {issuer}"):
        flow.discover()
        grant = flow.start()
    info(f"To sign in, open:  {grant.verification_uri_complete or grant.verification_uri}")
    info(f"and confirm the code:  {grant.user_code}")
    sys.stderr.flush()
    with spinner("Waiting for you to approve the sign-in in your browser"):
        id_token = flow.wait_for_id_token(grant)
    with spinner("Exchanging the ID token for a platform token"):
        answer = session.client(authenticated=False).post("/auth/token", TokenResponse, TokenRequest(id_token=id_token))
    return answer.access_token, answer.expires_in


@handle_errors
def login(
    ctx: typer.Context,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="sign in with this token instead (an idp_sa_... token or a platform JWT; - reads stdin)"
        ),
    ] = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", envvar="IDP_OIDC_ISSUER", help="the OIDC issuer to sign in at")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", envvar="IDP_OIDC_CLIENT_ID", help="the CLI's client id at the issuer")
    ] = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Sign in: the OIDC device flow in your browser, or --token for CI."""
    from idp.schemas.auth import MeRead
    from idp_cli.config import DEFAULT_CLIENT_ID, dev_state, save_config

    session = open_session(ctx, None, api_url)
    config = session.config
    if token is not None:
        platform_token = _read_token(token)
        kind = "service_account" if platform_token.startswith(SERVICE_ACCOUNT_PREFIX) else "platform"
        expires_at = _jwt_expiry(platform_token) if kind == "platform" else None
    else:
        state = dev_state()
        chosen_issuer = issuer or config.oidc_issuer or state.oidc_issuer
        if not chosen_issuer:
            raise LocalInputError(
                "no OIDC issuer to sign in at",
                code="no_issuer",
                hint="pass --issuer or set IDP_OIDC_ISSUER (or use `idp login --token <token>`)",
            )
        chosen_client = client_id or config.client_id or state.oidc_client_id or DEFAULT_CLIENT_ID
        platform_token, expires_in = _device_flow_token(session, chosen_issuer, chosen_client)
        kind = "platform"
        expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
        config.oidc_issuer, config.client_id = chosen_issuer, chosen_client

    session.token = platform_token
    with spinner("Checking the token"):
        me = session.client().get("/auth/me", MeRead)
    config.api_url, config.token, config.token_kind, config.expires_at = (
        session.api_url,
        platform_token,
        kind,
        expires_at,
    )
    path = save_config(config)
    who = f"service account {me.user_id}" if me.kind == "service_account" else me.email or me.user_id
    until = f" until {expires_at}" if expires_at else ""
    info(f"Signed in to {session.api_url} as {who}{until} (saved in {path}).")


@handle_errors
def logout(ctx: typer.Context) -> None:
    """Forget the stored token (platform tokens expire on their own; `idp token revoke` ends a service account)."""
    from idp_cli.config import load_config, save_config

    config = load_config()
    if not config.token:
        info("Not signed in.")
    else:
        config.token = config.token_kind = config.expires_at = None
        save_config(config)
        info(f"Signed out of {config.api_url}.")
    if os.environ.get("IDP_TOKEN"):
        warn("IDP_TOKEN is set in the environment and is still used")


@handle_errors
def whoami(ctx: typer.Context, output: OutputOption = None, api_url: ApiUrlOption = None) -> None:
    """Who the API thinks you are, and your tenants (GET /auth/me)."""
    from idp.schemas.auth import MeRead

    session = open_session(ctx, output, api_url)
    with spinner("Asking the API"):
        me = session.client().get("/auth/me", MeRead)

    def table() -> None:
        render_detail(
            [
                ("user", me.user_id),
                ("kind", me.kind.replace("_", " ")),
                ("email", me.email),
                ("name", me.name),
                ("platform admin", me.platform_admin),
                ("api", session.api_url),
            ]
        )
        if me.tenants:
            typer.echo("")
            render_table(["TENANT", "ROLE"], [(t.name, t.role) for t in me.tenants])

    emit(me, session.output, table)


@handle_errors
def link(ctx: typer.Context, output: OutputOption = None, api_url: ApiUrlOption = None) -> None:
    """Get a one-time code that links your Slack account: then type `/idp link <code>` in Slack."""
    from idp.schemas.auth import LinkCodeRead

    session = open_session(ctx, output, api_url)
    with spinner("Asking the API for a link code"):
        issued = session.client().post("/auth/link-codes", LinkCodeRead)
    emit(
        issued, session.output, lambda: typer.echo(f"{issued.instructions}   (expires {issued.expires_at:%H:%M:%S %Z})")
    )
