"""`idp member add|remove|list`: a tenant's members and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from idp_cli.commands._common import ApiUrlOption, OutputOption, check_name, open_session, validated
from idp_cli.errors import handle_errors
from idp_cli.output import emit, info, render_table, spinner

__all__ = ["app"]

app = typer.Typer(help="Members of a tenant and their roles (owner, admin, developer, viewer).", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    user: Annotated[str, typer.Argument(help="the user's id (e-mail)")],
    role: Annotated[str, typer.Argument(help="owner, admin, developer or viewer")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Add USER to TENANT with ROLE, or change their role."""
    from idp.schemas.tenants import MemberCreate, MemberRead

    check_name(tenant)
    body = validated(MemberCreate, "member", user=user, role=role)
    session = open_session(ctx, output, api_url)
    with spinner(f"Adding {body.user} to {tenant}"):
        member = session.client().post(f"/tenants/{tenant}/members", MemberRead, body)
    emit(member, session.output, lambda: info(f"{member.user} is now {member.role} of {tenant}."))


@app.command("remove")
@handle_errors
def remove(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    user: Annotated[str, typer.Argument(help="the user's id (e-mail)")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Remove USER from TENANT (their RoleBindings go too)."""
    from idp.client import segment
    from idp.schemas.tenants import TenantRead

    check_name(tenant)
    session = open_session(ctx, output, api_url)
    with spinner(f"Removing {user} from {tenant}"):
        record = session.client().delete(f"/tenants/{tenant}/members/{segment(user)}", TenantRead)
    emit(record, session.output, lambda: info(f"{user} removed from {tenant}."))


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """TENANT's members and their roles."""
    from idp.schemas.tenants import MemberRead

    check_name(tenant)
    session = open_session(ctx, output, api_url)
    with spinner(f"Listing members of {tenant}"):
        members = session.client().get_list(f"/tenants/{tenant}/members", MemberRead)
    emit(
        members,
        session.output,
        lambda: render_table(
            ["USER", "ROLE", "ADDED BY", "ADDED"],
            [(m.user, m.role, m.added_by, m.added_at) for m in members],
            empty="no members",
        ),
    )
