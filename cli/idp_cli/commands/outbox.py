"""`idp outbox list|requeue`: the Slack outbox's parked messages, for operators.

A message is parked when Slack refused it for good (the channel is gone, the bot is not in it,
...) or failed too often; no pass sends it, and its deployment's later messages wait behind it,
until it is requeued. Like `idp migrate`, these commands talk to the database directly
(DATABASE_URL, the operator's own credentials) through `idp_local.operator`, never the API.
"""

from __future__ import annotations

from typing import Annotated

import typer

from idp_cli.commands._common import OutputOption, resolve_output
from idp_cli.errors import CliError, LocalInputError, handle_errors
from idp_cli.output import emit, info, render_table

__all__ = ["app"]

app = typer.Typer(help="The Slack outbox's parked messages (operators; DATABASE_URL).", no_args_is_help=True)


def _no_database(exc: RuntimeError) -> LocalInputError:
    hint = "set DATABASE_URL (or DATABASE_SECRET_ID), as for `idp migrate`"
    return LocalInputError(str(exc), code="no_database", hint=hint)


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="at most this many, oldest first")] = 100,
    output: OutputOption = None,
) -> None:
    """The parked messages: which deployment, where, why (Slack's error) and how many wait behind each."""
    from idp_local.operator import parked_notifications

    chosen = resolve_output(ctx, output)
    try:
        parked = parked_notifications(limit=limit)
    except RuntimeError as exc:
        raise _no_database(exc) from None
    emit(
        parked,
        chosen,
        lambda: render_table(
            ["ID", "TENANT/APP", "ENV", "KIND", "CHANNEL", "ATTEMPTS", "PARKED", "WAITING BEHIND", "LAST ERROR"],
            [
                (
                    p.id,
                    f"{p.tenant}/{p.app}",
                    p.environment,
                    p.kind,
                    p.slack_channel,
                    p.attempts,
                    p.parked_at,
                    p.held_back,
                    p.last_error,
                )
                for p in parked
            ],
            empty="no parked messages",
        ),
    )


@app.command("requeue")
@handle_errors
def requeue(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Option("--id", help="a parked message's ID (repeatable)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every parked message")] = False,
    output: OutputOption = None,
) -> None:
    """Send parked messages again (a fresh retry budget); the poller's next pass sends them, first
    looking in Slack for a copy an earlier attempt may have posted. Fix the cause first (invite the
    bot, restore the channel): a message refused again is parked again."""
    from idp_local.operator import requeue_notifications

    if bool(ids) == all_:
        raise LocalInputError("name the messages: --id N (repeatable) or --all", code="invalid_input")
    chosen = resolve_output(ctx, output)
    try:
        requeued = requeue_notifications(None if all_ else list(ids or []))
    except RuntimeError as exc:
        raise _no_database(exc) from None
    missing = sorted(set(ids or []) - set(requeued))
    emit(
        {"requeued": requeued},
        chosen,
        lambda: info(
            f"requeued {len(requeued)} message(s)" + (f": {', '.join(map(str, requeued))}" if requeued else "")
        ),
    )
    if missing:
        raise CliError(
            f"not parked (sent, unknown, or already queued): {', '.join(map(str, missing))}",
            code="not_parked",
            hint="see `idp outbox list`",
        )
