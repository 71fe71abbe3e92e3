"""Following a deployment on one progress line: polling, the line's text, the approval note.

`follow` polls `GET /deployments/{id}` about once a second and shows the state on one progress
line until it is final; when the deployment waits for approval it first notes who can approve
it, and where (`approval_note`). Shared by `idp deploy` and `idp rollback` (`deploys`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from idp.errors import IdpError
from idp_cli.output import ProgressLine, duration, info

if TYPE_CHECKING:
    from idp.client import PlatformClient as ApiClient
    from idp.schemas.deploy import DeploymentRead

__all__ = ["POLL_SECONDS", "SHORT_ID", "approval_note", "follow", "revision_text", "short_id"]

POLL_SECONDS = 1.0
SHORT_ID = 8


def short_id(deployment_id: str) -> str:
    return deployment_id[:SHORT_ID]


def revision_text(d: DeploymentRead) -> str:
    if d.deployed_revision and d.deployed_revision != d.revision:
        return f"{d.revision} ({d.deployed_revision[:12]})"
    return d.revision


def approval_note(client: ApiClient, d: DeploymentRead) -> str:
    """Who can approve `d`, and where (the policy's approvers other than the requester)."""
    from idp.schemas.deploy import DeployPolicyRead

    where = f"`idp approve {d.id}`"
    who = f"an owner or admin of {d.tenant} other than {d.requested_by}"
    try:
        policy: DeployPolicyRead | None = client.get(f"/tenants/{d.tenant}/deploy-policy", DeployPolicyRead)
    except IdpError:  # only a nicer message is lost
        policy = None
    if policy is not None:
        approvers = [a for a in policy.approvers if a != d.requested_by]
        if approvers:
            who = approvers[0] if len(approvers) == 1 else "one of " + ", ".join(approvers)
        if d.slack_channel or policy.approval_channel:
            where = f"the Approve button in Slack channel {d.slack_channel or policy.approval_channel}, or {where}"
    expires = f" before {d.approval_expires_at:%Y-%m-%d %H:%M %Z}" if d.approval_expires_at else ""
    return f"deployment {short_id(d.id)} needs approval by {who}{expires}: {where}"


def _progress_text(d: DeploymentRead, elapsed: float, problem: str | None) -> str:
    text = f"{d.tenant}/{d.app} {d.kind} to {d.environment} @ {revision_text(d)}: {d.state.replace('_', ' ')}"
    text += f" [{duration(elapsed)}]"
    if d.message:
        text += f" - {d.message}"
    if problem:
        text += f" ({problem})"
    return text


def follow(
    client: ApiClient,
    first: DeploymentRead,
    *,
    timeout: float | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: ProgressLine | None = None,
) -> tuple[DeploymentRead, bool]:
    """Poll the deployment until its state is final: `(last seen, final?)`.

    5xx answers and network errors are shown on the line and retried; Ctrl-C stops watching only.
    """
    from idp.schemas.deploy import FINAL_STATES, DeploymentRead

    line = progress or ProgressLine()
    start = clock()
    current = first
    problem: str | None = None
    told_approval = False
    try:
        while True:
            if current.state == "pending_approval" and not told_approval:
                line.note(approval_note(client, current))
                told_approval = True
            line.update((current.state, current.message, problem), _progress_text(current, clock() - start, problem))
            if current.state in FINAL_STATES:
                return current, True
            if timeout is not None and clock() - start >= timeout:
                return current, False
            sleep(POLL_SECONDS)
            try:
                current = client.get(f"/deployments/{current.id}", DeploymentRead)
                problem = None
            except IdpError as exc:
                if exc.status < 500:
                    raise
                problem = f"API: {exc.message}; retrying"
    except KeyboardInterrupt:
        line.close()
        info(
            f"stopped watching: deployment {current.id} is {current.state} and carries on without you. "
            f"Follow it with `idp deployments {current.tenant}/{current.app} --env {current.environment}` "
            f"or `idp deployment {current.id}`."
        )
        raise typer.Exit(130) from None
    finally:
        line.close()
