"""`idp token create|list|revoke`: a tenant's service accounts, for CI.

The token is printed once, at creation (alone on stdout in table form, so
`TOKEN=$(idp token create ...)` works); the platform keeps only its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from idp_cli.commands._common import ApiUrlOption, OutputOption, check_name, open_session, validated
from idp_cli.errors import handle_errors
from idp_cli.output import emit, info, render_table, spinner, warn

if TYPE_CHECKING:
    from idp.schemas.service_accounts import ServiceAccountRead

__all__ = ["app"]

app = typer.Typer(help="Service-account tokens of a tenant, for CI.", no_args_is_help=True)


def _state(account: ServiceAccountRead) -> str:
    if account.revoked_at:
        return "revoked"
    if account.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    name: Annotated[str, typer.Argument(help="service account name (DNS-1123 label)")],
    role: Annotated[str, typer.Option("--role", help="admin, developer or viewer")],
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            "--expires-in-days",
            help="the token stops working after this (default 90, or the platform's cap if lower; more is refused)",
        ),
    ] = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Create a service account in TENANT and print its token (shown this once only)."""
    from idp.schemas.service_accounts import ServiceAccountCreate, ServiceAccountCreated

    check_name(tenant)
    fields: dict[str, object] = {"name": name, "role": role}
    if expires_in_days is not None:
        fields["expires_in_days"] = expires_in_days
    body = validated(ServiceAccountCreate, "service account", **fields)
    session = open_session(ctx, output, api_url)
    with spinner(f"Creating service account {body.name} in {tenant}"):
        created = session.client().post(f"/tenants/{tenant}/service-accounts", ServiceAccountCreated, body)
    info(
        f"Service account {created.name} ({created.role}) created in {tenant}; "
        f"its token expires {created.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    warn("store the token now: it will not be shown again (the platform keeps only its hash)")
    emit(created, session.output, lambda: typer.echo(created.token))


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """TENANT's service accounts, revoked ones included (never their tokens)."""
    from idp.schemas.service_accounts import ServiceAccountRead

    check_name(tenant)
    session = open_session(ctx, output, api_url)
    with spinner(f"Listing service accounts of {tenant}"):
        accounts = session.client().get_list(f"/tenants/{tenant}/service-accounts", ServiceAccountRead)
    emit(
        accounts,
        session.output,
        lambda: render_table(
            ["NAME", "ROLE", "STATE", "TOKEN", "CREATED BY", "CREATED", "EXPIRES", "LAST USED"],
            [
                (
                    a.name,
                    a.role,
                    _state(a),
                    a.token_prefix + "…",
                    a.created_by,
                    a.created_at,
                    a.expires_at,
                    a.last_used_at,
                )
                for a in accounts
            ],
            empty="no service accounts",
        ),
    )


@app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    name: Annotated[str, typer.Argument(help="service account name")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Revoke a service account: its token stops working at once (repeating is harmless)."""
    from idp.schemas.service_accounts import ServiceAccountRead

    check_name(tenant)
    check_name(name, "service account name")
    session = open_session(ctx, output, api_url)
    with spinner(f"Revoking {name} in {tenant}"):
        account = session.client().delete(f"/tenants/{tenant}/service-accounts/{name}", ServiceAccountRead)
    emit(account, session.output, lambda: info(f"Service account {account.name} revoked in {tenant}."))
