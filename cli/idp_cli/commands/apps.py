"""`idp app create|list|show|delete`: a tenant's applications, one Argo CD Application per environment;
`idp deploy-policy show|set`: which environments' deploys need an approval.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from idp_cli.commands._common import (
    ApiUrlOption,
    OutputOption,
    TenantOption,
    default_tenant,
    open_session,
    resolve_app,
    validated,
)
from idp_cli.errors import LocalInputError, handle_errors
from idp_cli.output import duration, emit, info, render_detail, render_table, spinner

if TYPE_CHECKING:
    from idp.schemas.deploy import AppRead, DeployPolicyRead

__all__ = ["app", "policy_app", "render_app", "render_policy"]

app = typer.Typer(help="Applications: a repository folder deployed to a tenant's environments.", no_args_is_help=True)

AppArgument = Annotated[str, typer.Argument(metavar="APP", help="app name, or TENANT/APP")]


def render_app(record: AppRead) -> None:
    render_detail(
        [
            ("app", f"{record.tenant}/{record.name}"),
            ("repository", record.repo_url),
            ("path", record.path),
            ("environments", record.environments),
            ("status", record.status + (f" ({record.status_reason})" if record.status_reason else "")),
            ("created by", record.created_by),
            ("created", record.created_at),
            ("updated", record.updated_at),
        ]
    )
    if record.live is None:
        return
    typer.echo("")
    render_table(
        ["ENVIRONMENT", "ARGO CD APP", "NAMESPACE", "SYNC", "HEALTH", "REVISION", "LAST DEPLOYED", "MESSAGE"],
        [
            (
                live.environment,
                live.argocd_app,
                live.namespace,
                live.sync_status or "unknown",
                live.health_status or "unknown",
                live.revision,
                live.last_deployed_at,
                live.operation_message or live.health_message,
            )
            for live in record.live
        ],
        empty="no environments",
    )


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="app name (DNS-1123 label), or TENANT/APP")],
    repo: Annotated[str, typer.Option("--repo", help="a repository registered for the tenant (https:// or git@)")],
    path: Annotated[str, typer.Option("--path", help="folder of the manifests in the repository")] = ".",
    env: Annotated[
        list[str] | None, typer.Option("--env", help="an environment to deploy to; repeat for more (default: all)")
    ] = None,
    tenant: TenantOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Register an app: one Argo CD Application per environment (repeating it finishes an interrupted create)."""
    from idp.schemas.deploy import AppCreate, AppRead

    prefix, slash, app_name = name.partition("/")
    if slash:
        if tenant and tenant != prefix:
            raise LocalInputError(
                f"{name!r} names tenant {prefix!r} but --tenant says {tenant!r}", code="invalid_input"
            )
        tenant = prefix
    else:
        app_name = name
    body = validated(AppCreate, "app", name=app_name, repo_url=repo, path=path, environments=env or None)
    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name = default_tenant(client, tenant)
    with spinner(f"Creating app {tenant_name}/{body.name} (an Argo CD Application per environment)"):
        record = client.post(f"/tenants/{tenant_name}/apps", AppRead, body)
    emit(record, session.output, lambda: render_app(record))
    if record.status != "ready":
        info(f"app {record.name} is {record.status}: {record.status_reason or 'run the same command again to finish'}")


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="only this tenant's apps (default: all your tenants)")
    ] = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Apps of your tenants (or of one tenant)."""
    from idp.schemas.deploy import AppRead
    from idp_cli.commands._common import check_name

    session = open_session(ctx, output, api_url)
    path = f"/tenants/{check_name(tenant)}/apps" if tenant else "/apps"
    with spinner("Listing apps"):
        records = session.client().get_list(path, AppRead)
    emit(
        records,
        session.output,
        lambda: render_table(
            ["TENANT", "NAME", "REPOSITORY", "PATH", "ENVIRONMENTS", "STATUS", "CREATED BY", "CREATED"],
            [
                (a.tenant, a.name, a.repo_url, a.path, a.environments, a.status, a.created_by, a.created_at)
                for a in records
            ],
            empty="no apps",
        ),
    )


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: AppArgument,
    tenant: TenantOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """One app, with Argo CD's live sync, health and revision per environment."""
    from idp.schemas.deploy import AppRead

    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name, app_name = resolve_app(client, name, tenant)
    with spinner(f"Fetching app {tenant_name}/{app_name}"):
        record = client.get(f"/tenants/{tenant_name}/apps/{app_name}", AppRead)
    emit(record, session.output, lambda: render_app(record))


@app.command("delete")
@handle_errors
def delete(
    ctx: typer.Context,
    name: AppArgument,
    tenant: TenantOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Delete an app's Argo CD Applications (the record and its deployments stay, for audit)."""
    from idp.schemas.deploy import AppRead

    if not yes and not sys.stdin.isatty():
        raise LocalInputError(f"deleting app {name} needs confirmation: pass --yes", code="confirmation_required")
    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name, app_name = resolve_app(client, name, tenant)
    if not yes and not typer.confirm(f"Delete app {tenant_name}/{app_name} from every environment?", err=True):
        raise typer.Exit(1)
    with spinner(f"Deleting app {tenant_name}/{app_name}"):
        record = client.delete(f"/tenants/{tenant_name}/apps/{app_name}", AppRead)
    emit(record, session.output, lambda: info(f"App {record.tenant}/{record.name} deleted (status {record.status})."))


# -- the tenant's approval policy -------------------------------------------------------
policy_app = typer.Typer(
    help="Which environments' deploys need an approval, where it is asked, and for how long.", no_args_is_help=True
)


def render_policy(policy: DeployPolicyRead) -> None:
    render_detail(
        [
            ("tenant", policy.tenant),
            ("approval needed in", policy.approval_environments or "no environment"),
            ("approval channel", policy.approval_channel or "the requester's channel (Slack), or none"),
            ("approval expires after", duration(policy.approval_ttl_seconds)),
            ("approvers", policy.approvers),
        ]
    )


@policy_app.command("show")
@handle_errors
def policy_show(
    ctx: typer.Context,
    tenant: TenantOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """The tenant's approval policy and who may approve."""
    from idp.schemas.deploy import DeployPolicyRead

    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name = default_tenant(client, tenant)
    with spinner(f"Fetching the deploy policy of {tenant_name}"):
        policy = client.get(f"/tenants/{tenant_name}/deploy-policy", DeployPolicyRead)
    emit(policy, session.output, lambda: render_policy(policy))


@policy_app.command("set")
@handle_errors
def policy_set(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="the tenant (owners only)")],
    approval_env: Annotated[
        list[str] | None,
        typer.Option("--approval-env", help="an environment whose deploys need approval; repeat (replaces the list)"),
    ] = None,
    no_approval: Annotated[bool, typer.Option("--no-approval", help="no environment needs an approval")] = False,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Slack channel id where approvals are asked, e.g. C0123ABCD")
    ] = None,
    no_channel: Annotated[bool, typer.Option("--no-channel", help="ask in the requester's channel instead")] = False,
    ttl: Annotated[
        int | None, typer.Option("--ttl", help="seconds an approval request stays open (60 to 604800)")
    ] = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Change the tenant's approval policy; what you do not pass stays as it is."""
    from idp.schemas.deploy import DeployPolicyRead, DeployPolicyUpdate
    from idp_cli.commands._common import check_name

    check_name(tenant)
    if approval_env and no_approval:
        raise LocalInputError("--approval-env and --no-approval contradict each other", code="invalid_input")
    if channel and no_channel:
        raise LocalInputError("--channel and --no-channel contradict each other", code="invalid_input")
    session = open_session(ctx, output, api_url)
    client = session.client()
    path = f"/tenants/{tenant}/deploy-policy"
    with spinner(f"Updating the deploy policy of {tenant}"):
        current = client.get(path, DeployPolicyRead)
        body = validated(
            DeployPolicyUpdate,
            "deploy policy",
            approval_environments=[] if no_approval else (approval_env or current.approval_environments),
            approval_channel=None if no_channel else (channel or current.approval_channel),
            approval_ttl_seconds=current.approval_ttl_seconds if ttl is None else ttl,
        )
        policy = client.put(path, DeployPolicyRead, body)
    emit(policy, session.output, lambda: render_policy(policy))
