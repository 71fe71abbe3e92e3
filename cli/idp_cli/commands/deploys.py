"""`idp deploy|rollback|deployments|deployment|approve|reject`: deployments, followed live to the end.

`idp deploy` and `idp rollback` send one `Idempotency-Key` per invocation (retried requests
reuse it, so they never deploy twice), then poll `GET /deployments/{id}` about once a
second and show the state on one progress line until it is final. Exit codes: 0
succeeded (or accepted, with `--no-wait`), 1 rejected, expired, failed or still running at
`--timeout`, 130 when interrupted (the deployment carries on); errors as everywhere.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from idp.errors import IdpError
from idp_cli.commands._common import ApiUrlOption, OutputOption, Session, TenantOption, open_session, resolve_app
from idp_cli.commands._progress import approval_note, follow, revision_text, short_id
from idp_cli.errors import CliError, LocalInputError, handle_errors
from idp_cli.output import OutputFormat, duration, emit, info, render_detail, render_table, spinner, warn

if TYPE_CHECKING:
    from pydantic import BaseModel

    from idp.client import PlatformClient as ApiClient
    from idp.schemas.deploy import DeploymentRead

__all__ = [
    "approve",
    "deploy",
    "deployment",
    "deployments",
    "reject",
    "render_deployment",
    "rollback",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
POST_ATTEMPTS = 3

AppArgument = Annotated[str, typer.Argument(metavar="APP", help="app name, or TENANT/APP")]
EnvArgument = Annotated[str, typer.Argument(metavar="ENV", help="environment, e.g. dev or prod")]
NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="return once the platform accepted it, without following it")
]
TimeoutOption = Annotated[
    int | None,
    typer.Option("--timeout", min=1, help="stop waiting after this many seconds (default: until it ends)"),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="reuse one to make a re-run of this command return the first deployment (default: new per run)",
    ),
]
IdArgument = Annotated[
    str, typer.Argument(metavar="ID", help="deployment id (or the start of it, as `idp deployments` shows)")
]
CommentOption = Annotated[str | None, typer.Option("--comment", "-m", help="a note kept with the decision")]


def render_deployment(d: DeploymentRead) -> None:
    render_detail(
        [
            ("id", d.id),
            ("app", f"{d.tenant}/{d.app}"),
            ("environment", d.environment),
            ("kind", d.kind),
            ("revision", revision_text(d)),
            ("previous revision", d.previous_revision),
            ("state", d.state),
            ("message", d.message),
            ("requested by", f"{d.requested_by} via {d.requested_via}"),
            ("requested", d.requested_at),
            ("approval", ("required" if d.approval_required else "not required")),
            *([("approval expires", d.approval_expires_at)] if d.state == "pending_approval" else []),
            ("decided by", d.decided_by),
            *([("decided", d.decided_at), ("comment", d.decision_comment)] if d.decided_by else []),
            ("sync started", d.sync_started_at),
            ("finished", d.finished_at),
            ("duration", duration(d.duration_seconds)),
        ]
    )


def render_deployments(items: list[DeploymentRead]) -> None:
    render_table(
        ["ID", "ENV", "KIND", "REVISION", "STATE", "REQUESTED BY", "REQUESTED", "DECIDED BY", "STARTED", "DURATION"],
        [
            (
                short_id(d.id),
                d.environment,
                d.kind,
                revision_text(d),
                d.state,
                d.requested_by,
                d.requested_at,
                d.decided_by,
                d.sync_started_at,
                duration(d.duration_seconds),
            )
            for d in items
        ],
        empty="no deployments",
    )


# -- requesting -------------------------------------------------------------------------
def _post_once(client: ApiClient, path: str, body: BaseModel, key: str) -> DeploymentRead:
    """POST with an Idempotency-Key, retried with the same key when the API failed or could not be reached."""
    from idp.schemas.deploy import DeploymentRead

    attempt = 1
    while True:
        try:
            return client.post(path, DeploymentRead, body, headers={IDEMPOTENCY_HEADER: key})
        except IdpError as exc:
            if exc.status < 500 or attempt >= POST_ATTEMPTS:
                raise
            warn(f"{exc.message}; trying again with the same {IDEMPOTENCY_HEADER} (it cannot deploy twice)")
            time.sleep(2 ** (attempt - 1))
            attempt += 1


def _finish(session: Session, client: ApiClient, d: DeploymentRead, *, wait: bool, timeout: int | None) -> None:
    what = f"{d.kind} of {d.tenant}/{d.app} to {d.environment} @ {d.revision}"
    if not wait:
        if d.state == "pending_approval":
            info(approval_note(client, d))
        info(f"{what} accepted: deployment {d.id} is {d.state}. Follow it with `idp deployment {d.id}`.")
        emit(d, session.output, lambda: render_deployment(d))
        return
    info(f"{what}: deployment {d.id}")
    final, done = follow(client, d, timeout=timeout)
    emit(final, session.output, lambda: render_deployment(final))
    if not done:
        raise CliError(
            f"deployment {final.id} is still {final.state} after {timeout}s; it carries on",
            code="still_running",
            hint=f"follow it with `idp deployment {final.id}`",
        )
    if final.state != "succeeded":
        raise CliError(f"deployment {final.id} {final.state}: {_outcome(final)}", code=f"deployment_{final.state}")
    info(f"{what} succeeded (the sync took {duration(final.duration_seconds)}).")


def _outcome(d: DeploymentRead) -> str:
    """Why a deployment did not succeed, in words."""
    if d.state == "rejected":
        return f"by {d.decided_by}" + (f": {d.decision_comment}" if d.decision_comment else "")
    if d.state == "expired":
        return d.message or "nobody approved it in time"
    return d.message or "Argo CD gave no reason"


@handle_errors
def deploy(
    ctx: typer.Context,
    app_ref: AppArgument,
    environment: EnvArgument,
    revision: Annotated[
        str | None, typer.Option("--revision", "-r", help="branch, tag or commit SHA (default: HEAD)")
    ] = None,
    tenant: TenantOption = None,
    no_wait: NoWaitOption = False,
    timeout: TimeoutOption = None,
    idempotency_key: KeyOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Deploy a revision of APP to ENV and follow it until it succeeds or fails (approvals included)."""
    from idp.schemas.deploy import DeploymentCreate
    from idp_cli.commands._common import validated

    fields: dict[str, object] = {"environment": environment}
    if revision is not None:
        fields["revision"] = revision
    body = validated(DeploymentCreate, "deployment", **fields)
    key = _key(idempotency_key)
    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name, app_name = resolve_app(client, app_ref, tenant)
    with spinner(f"Requesting a deployment of {tenant_name}/{app_name} to {body.environment}"):
        d = _post_once(client, f"/tenants/{tenant_name}/apps/{app_name}/deployments", body, key)
    _finish(session, client, d, wait=not no_wait, timeout=timeout)


@handle_errors
def rollback(
    ctx: typer.Context,
    app_ref: AppArgument,
    environment: EnvArgument,
    to: Annotated[
        str | None,
        typer.Option("--to", help="a deployment id or a revision that succeeded before (default: the one before)"),
    ] = None,
    tenant: TenantOption = None,
    no_wait: NoWaitOption = False,
    timeout: TimeoutOption = None,
    idempotency_key: KeyOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Deploy to ENV again the revision that was live before (or the one `--to` names) and follow it."""
    from idp.schemas.deploy import RollbackCreate
    from idp_cli.commands._common import validated

    body = validated(RollbackCreate, "rollback", environment=environment, to=to)
    key = _key(idempotency_key)
    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name, app_name = resolve_app(client, app_ref, tenant)
    with spinner(f"Requesting a rollback of {tenant_name}/{app_name} in {body.environment}"):
        d = _post_once(client, f"/tenants/{tenant_name}/apps/{app_name}/rollback", body, key)
    _finish(session, client, d, wait=not no_wait, timeout=timeout)


def _key(given: str | None) -> str:
    if given is None:
        return f"cli-{uuid.uuid4()}"
    key = given.strip()
    if not key or len(key) > 200 or not all(" " <= c <= "~" for c in key):
        raise LocalInputError("--idempotency-key must be 1 to 200 printable ASCII characters", code="invalid_input")
    return key


# -- reading and deciding ---------------------------------------------------------------
@handle_errors
def deployments(
    ctx: typer.Context,
    app_ref: AppArgument,
    env: Annotated[str | None, typer.Option("--env", "-e", help="only this environment")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="at most this many, newest first")] = 20,
    tenant: TenantOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """APP's deployments and rollbacks, newest first."""
    from urllib.parse import urlencode

    from idp.schemas.deploy import DeploymentRead

    session = open_session(ctx, output, api_url)
    client = session.client()
    tenant_name, app_name = resolve_app(client, app_ref, tenant)
    query = urlencode({"limit": limit, **({"environment": env} if env else {})})
    with spinner(f"Listing deployments of {tenant_name}/{app_name}"):
        items = client.get_list(f"/tenants/{tenant_name}/apps/{app_name}/deployments?{query}", DeploymentRead)
    emit(items, session.output, lambda: render_deployments(items))


def _resolve_id(client: ApiClient, ref: str) -> str:
    """A full deployment id, or the one among the recent deployments of the caller's apps that starts with `ref`."""
    from idp.schemas.deploy import AppRead, DeploymentRead

    text = ref.strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if len(text) < 4 or any(c not in "0123456789abcdef-" for c in text):
        raise LocalInputError(
            f"{ref!r} is not a deployment id (a UUID, or its first 4+ characters)", code="invalid_input"
        )
    found: set[str] = set()
    for record in client.get_list("/apps", AppRead):
        path = f"/tenants/{record.tenant}/apps/{record.name}/deployments?limit=100"
        found.update(d.id for d in client.get_list(path, DeploymentRead) if d.id.startswith(text))
    if not found:
        raise CliError(
            f"no recent deployment of your apps has an id starting with {ref!r}", code="deployment_not_found"
        )
    if len(found) > 1:
        raise LocalInputError(f"{ref!r} is the start of several deployment ids: {', '.join(sorted(found))}")
    return found.pop()


@handle_errors
def deployment(
    ctx: typer.Context,
    deployment_id: IdArgument,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """One deployment in detail."""
    from idp.schemas.deploy import DeploymentRead

    session = open_session(ctx, output, api_url)
    client = session.client()
    with spinner("Fetching the deployment"):
        d = client.get(f"/deployments/{_resolve_id(client, deployment_id)}", DeploymentRead)
    emit(d, session.output, lambda: render_deployment(d))


def _decide(
    ctx: typer.Context, verb: str, ref: str, comment: str | None, output: OutputFormat | None, api_url: str | None
) -> None:
    from idp.schemas.deploy import DeploymentDecision, DeploymentRead
    from idp_cli.commands._common import validated

    body = validated(DeploymentDecision, "decision", comment=comment)
    session = open_session(ctx, output, api_url)
    client = session.client()
    deployment_id = _resolve_id(client, ref)
    with spinner(f"Sending the decision on deployment {short_id(deployment_id)}"):
        d = client.post(f"/deployments/{deployment_id}/{verb}", DeploymentRead, body)
    emit(d, session.output, lambda: render_deployment(d))
    after = {"approve": "approved; the sync starts now", "reject": "rejected"}[verb]
    info(f"Deployment {short_id(d.id)} of {d.tenant}/{d.app} to {d.environment} {after} (state {d.state}).")


@handle_errors
def approve(
    ctx: typer.Context,
    deployment_id: IdArgument,
    comment: CommentOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Approve a deployment waiting for approval (owners and admins; never your own)."""
    _decide(ctx, "approve", deployment_id, comment, output, api_url)


@handle_errors
def reject(
    ctx: typer.Context,
    deployment_id: IdArgument,
    comment: CommentOption = None,
    output: OutputOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Reject a deployment waiting for approval (owners and admins)."""
    _decide(ctx, "reject", deployment_id, comment, output, api_url)
