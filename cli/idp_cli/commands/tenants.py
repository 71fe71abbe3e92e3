"""`idp tenant create|list|show|update|delete`: parse, call the API, render."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from idp_cli.commands._common import ApiUrlOption, OutputOption, check_name, open_session, validated
from idp_cli.errors import LocalInputError, handle_errors
from idp_cli.output import emit, info, render_detail, render_table, spinner

if TYPE_CHECKING:
    from idp.schemas.tenants import TenantRead

__all__ = ["app", "parse_quota"]

app = typer.Typer(help="Tenants: teams with their namespaces per environment.", no_args_is_help=True)

QUOTA_KEYS = ("cpu", "memory", "pods", "storage")


def parse_quota(spec: str) -> tuple[str, dict[str, str]]:
    """`prod:cpu=8,memory=16Gi,pods=100,storage=200Gi` -> ("prod", {"cpu": "8", ...})."""
    env, sep, rest = spec.partition(":")
    if not sep or not env.strip() or not rest.strip():
        raise LocalInputError(
            f"invalid --quota {spec!r}: expected ENV:key=value,... e.g. prod:cpu=8,memory=16Gi,pods=100,storage=200Gi",
            code="invalid_input",
        )
    values: dict[str, str] = {}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise LocalInputError(f"invalid --quota {spec!r}: {item!r} is not key=value", code="invalid_input")
        if key not in QUOTA_KEYS:
            raise LocalInputError(
                f"invalid --quota {spec!r}: unknown key {key!r} (use {', '.join(QUOTA_KEYS)})", code="invalid_input"
            )
        values[key] = value.strip()
    return env.strip(), values


def render_tenant(tenant: TenantRead) -> None:
    render_detail(
        [
            ("name", tenant.name),
            ("display name", tenant.display_name),
            ("status", tenant.status + (f" ({tenant.status_reason})" if tenant.status_reason else "")),
            ("repositories", "\n".join(tenant.repositories) or "none"),
            ("created by", tenant.created_by),
            ("created", tenant.created_at),
            ("updated", tenant.updated_at),
            *([("deleted", tenant.deleted_at)] if tenant.deleted_at else []),
        ]
    )
    typer.echo("")
    render_table(
        ["ENVIRONMENT", "NAMESPACE", "CPU", "MEMORY", "PODS", "STORAGE"],
        [
            (env, tenant.namespaces.get(env), q.cpu, q.memory, q.pods, q.storage)
            for env in tenant.environments
            for q in [tenant.quotas.get(env)]
            if q is not None
        ],
    )


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="DNS-1123 label; namespaces are NAME-ENV")],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="a name for people (default: NAME)")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="an environment; repeat for more (default: dev, staging, prod)")
    ] = None,
    quota: Annotated[
        list[str] | None,
        typer.Option("--quota", help="ENV:cpu=8,memory=16Gi,pods=100,storage=200Gi; repeat per environment"),
    ] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="a git repository the tenant may deploy from (https://... or git@...); repeat"),
    ] = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Create a tenant (repeating it finishes an interrupted create and changes nothing else)."""
    from idp.schemas.tenants import TenantCreate, TenantRead

    quotas: dict[str, dict[str, str]] = {}
    for spec in quota or []:
        quota_env, values = parse_quota(spec)
        if quota_env in quotas:
            raise LocalInputError(f"--quota names environment {quota_env!r} twice", code="invalid_input")
        quotas[quota_env] = values
    fields: dict[str, object] = {
        "name": name,
        "display_name": display_name or name,
        "quotas": quotas,
        "repositories": repo or [],
    }
    if env:
        fields["environments"] = env
    body = validated(TenantCreate, "tenant", **fields)
    session = open_session(ctx, output, api_url)
    with spinner(f"Creating tenant {body.name} (namespaces, quotas, policies, bindings, Argo CD project)"):
        tenant = session.client().post("/tenants", TenantRead, body)
    emit(tenant, session.output, lambda: render_tenant(tenant))
    if tenant.status != "ready":
        info(f"tenant {tenant.name} is {tenant.status}: {tenant.status_reason or 'try again to finish it'}")


@app.command("list")
@handle_errors
def list_(ctx: typer.Context, output: OutputOption = None, api_url: ApiUrlOption = None) -> None:
    """Your tenants (all of them for platform admins)."""
    from idp.schemas.tenants import TenantRead

    session = open_session(ctx, output, api_url)
    with spinner("Listing tenants"):
        tenants = session.client().get_list("/tenants", TenantRead)
    emit(
        tenants,
        session.output,
        lambda: render_table(
            ["NAME", "DISPLAY NAME", "STATUS", "ENVIRONMENTS", "CREATED BY", "CREATED"],
            [(t.name, t.display_name, t.status, t.environments, t.created_by, t.created_at) for t in tenants],
            empty="no tenants",
        ),
    )


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="tenant name")],
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """One tenant: status, namespaces and quotas."""
    from idp.schemas.tenants import TenantRead

    check_name(name)
    session = open_session(ctx, output, api_url)
    with spinner(f"Fetching tenant {name}"):
        tenant = session.client().get(f"/tenants/{name}", TenantRead)
    emit(tenant, session.output, lambda: render_tenant(tenant))


@app.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="tenant name")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="a new name for people")] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="the tenant's repositories become exactly these; repeat for more"),
    ] = None,
    no_repos: Annotated[bool, typer.Option("--no-repos", help="remove every repository")] = False,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Change a tenant's display name or its repositories (--repo replaces the whole list)."""
    from idp.schemas.tenants import TenantRead, TenantUpdate

    check_name(name)
    if repo and no_repos:
        raise LocalInputError("--repo and --no-repos contradict each other: give one", code="invalid_input")
    if display_name is None and not repo and not no_repos:
        raise LocalInputError("nothing to change: give --display-name, --repo or --no-repos", code="invalid_input")
    fields: dict[str, object] = {}
    if display_name is not None:
        fields["display_name"] = display_name
    if repo or no_repos:
        fields["repositories"] = repo or []
    body = validated(TenantUpdate, "tenant", **fields)
    session = open_session(ctx, output, api_url)
    with spinner(f"Updating tenant {name}"):
        tenant = session.client().request("PATCH", f"/tenants/{name}", TenantRead, body=body)
    emit(tenant, session.output, lambda: render_tenant(tenant))
    if tenant.status != "ready":
        info(f"tenant {tenant.name} is {tenant.status}: {tenant.status_reason or 'run `idp tenant update` again'}")


@app.command("delete")
@handle_errors
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="tenant name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Delete a tenant's namespaces (the record stays, status deleted, for audit)."""
    from idp.schemas.tenants import TenantRead

    check_name(name)
    session = open_session(ctx, output, api_url)
    if not yes:
        if not sys.stdin.isatty():
            raise LocalInputError(f"deleting {name} needs confirmation: pass --yes", code="confirmation_required")
        if not typer.confirm(f"Delete tenant {name} and all its namespaces?", err=True):
            raise typer.Exit(1)
    with spinner(f"Deleting tenant {name}"):
        tenant = session.client().delete(f"/tenants/{name}", TenantRead)
    emit(tenant, session.output, lambda: info(f"Tenant {tenant.name} deleted (status {tenant.status})."))
