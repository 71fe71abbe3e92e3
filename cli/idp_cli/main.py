"""The `idp` command line: local platform and operator commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from idp_cli.commands import apps, auth, deploys, members, outbox, tenants, tokens
from idp_cli.commands._common import global_options

# Plain (click's) help, not Rich's: `idp --help` then loads no Rich (~150 ms here; bench/cold_start.py).
app = typer.Typer(help="Internal Developer Platform", no_args_is_help=True, add_completion=False, rich_markup_mode=None)
app.callback()(global_options)  # --output / --api-url before any API command
app.command()(auth.login)
app.command()(auth.logout)
app.command()(auth.whoami)
app.command()(auth.link)
app.add_typer(tenants.app, name="tenant")
app.add_typer(members.app, name="member")
app.add_typer(tokens.app, name="token")
app.add_typer(apps.app, name="app")
app.command("deploy")(deploys.deploy)
app.command("rollback")(deploys.rollback)
app.command("deployments")(deploys.deployments)
app.command("deployment")(deploys.deployment)
app.command("approve")(deploys.approve)
app.command("reject")(deploys.reject)
app.add_typer(apps.policy_app, name="deploy-policy")
app.add_typer(outbox.app, name="outbox")  # operator: DATABASE_URL, through idp_local.operator


@app.command()
def dev(
    host: str = typer.Option("127.0.0.1", help="address to serve the API on"),
    port: int = typer.Option(8000, envvar="IDP_PORT", help="port to serve the API on"),
) -> None:
    """Run the whole platform locally (embedded PostgreSQL, AWS, Kubernetes when not configured)."""
    from idp_local.dev import main

    main(host=host, port=port)


@app.command()
def migrate() -> None:
    """Apply pending database migrations (DATABASE_URL); safe to re-run."""
    from idp_local.operator import migrate as apply_migrations

    applied = apply_migrations()
    typer.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Rotate the platform token signing keys (JWT_KEYS_SECRET_ID); live tokens stay valid until they expire."""
    from idp_local.operator import rotate_signing_keys

    try:
        keyset = rotate_signing_keys()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"new signing key {keyset.current.kid}; kept {len(keyset.previous)} previous public key(s)")


@app.command("dev-token")
def dev_token(user: str = typer.Argument(..., help="user (e-mail) to sign in as at the local OIDC issuer")) -> None:
    """Sign in to the local platform (`idp dev`) as USER and print the platform token.

    Runs the device flow at the local OIDC issuer, approving it as USER, and exchanges the
    ID token at POST /auth/token, as a person signing in would. Platform admins are the
    users in PLATFORM_ADMINS (`idp dev` makes admin@example.com one when it is unset).
    """
    from idp_local.dev import STATE_DIR, local_token

    state_file = Path(STATE_DIR) / "dev.json"
    if not state_file.exists():
        typer.echo("no local platform found: run `make dev` first", err=True)
        raise typer.Exit(2)
    state = json.loads(state_file.read_text())
    if not state.get("oidc_issuer"):
        typer.echo(
            "the local platform signs in at your OIDC_ISSUER: POST its ID token to "
            f"{state['api_url']}/auth/token as 'Authorization: Bearer <id token>'",
            err=True,
        )
        raise typer.Exit(2)
    try:
        token = local_token(
            user, api_url=state["api_url"], oidc_issuer=state["oidc_issuer"], client_id=state["oidc_client_id"]
        )
    except (RuntimeError, OSError) as exc:
        typer.echo(f"sign-in failed: {exc} (is `make dev` still running?)", err=True)
        raise typer.Exit(1) from None
    typer.echo(token)


@app.command()
def chat(
    text: str = typer.Argument(..., help='what to type in Slack, e.g. "/idp tenant list"'),
    as_user: str = typer.Option("U0ALICE", "--as", help="the Slack user id to send it as"),
    app_url: str | None = typer.Option(None, help="the app's Slack endpoint (default: {api_url}/slack/events)"),
    channel: str = typer.Option("C0GENERAL", help="the Slack channel id to send it from"),
    timeout: float = typer.Option(10.0, help="seconds to wait for the app's answers"),
) -> None:
    """Type a slash command at the local chat-ops app (`idp dev`) and print what it answers.

    The local Slack emulator signs and sends the command, then the app's ack, its
    response_url posts and the messages and modals it sends are printed as text.
    """
    from idp_local.dev import STATE_DIR
    from idp_local.emulators.slack import EmulatorControl, SlackEmulatorUnavailable
    from idp_local.emulators.slack import chat as converse

    state_file = Path(STATE_DIR) / "dev.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state.get("slack_url"):
        reason = "no local platform found" if not state else "the local platform uses a real Slack (SLACK_BOT_TOKEN)"
        typer.echo(f"{reason}: run `make dev` (without SLACK_BOT_TOKEN) first", err=True)
        raise typer.Exit(2)
    target = app_url or state["api_url"].rstrip("/") + "/slack/events"
    control = EmulatorControl(state["slack_url"])
    answered = False
    try:
        control.health()
        for event in converse(control, target, text, user_id=as_user, channel_id=channel, timeout=timeout):
            answered = True
            typer.secho(f"── {event.label}", fg=typer.colors.RED if event.failed else typer.colors.CYAN, bold=True)
            if event.text:
                typer.echo(event.text)
    except SlackEmulatorUnavailable as exc:
        typer.echo(f"{exc}: is `make dev` running?", err=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if not answered:
        typer.echo(f"the app did not answer within {timeout:g} s", err=True)
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
