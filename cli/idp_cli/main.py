"""The `idp` command line: local platform and operator commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

app = typer.Typer(help="Internal Developer Platform", no_args_is_help=True, add_completion=False)


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
    from idp.db import apply_migrations, get_database

    applied = apply_migrations(get_database())
    typer.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@app.command("dev-token")
def dev_token(
    user: str = typer.Argument(..., help="user id (e-mail) to sign the token for"),
    admin: bool = typer.Option(False, "--admin", help="give the token the platform admin role"),
) -> None:
    """Print a platform token for USER, signed with the local platform's key (from `idp dev`)."""
    from idp_local.dev import STATE_DIR, local_token

    state_file = Path(STATE_DIR) / "dev.json"
    if not (os.environ.get("JWT_SECRET") or os.environ.get("JWT_SECRET_ID")):
        if not state_file.exists():
            typer.echo("no local platform found: run `make dev` first (or set JWT_SECRET)", err=True)
            raise typer.Exit(2)
        state = json.loads(state_file.read_text())
        os.environ.setdefault("AWS_ENDPOINT_URL", state["aws_endpoint_url"])
        for key, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            os.environ.setdefault(key, value)
        os.environ["JWT_SECRET_ID"] = "idp/local/jwt-signing-key"
    typer.echo(local_token(user, platform_admin=admin))


if __name__ == "__main__":  # pragma: no cover
    app()
