"""Buttons: a value carries a tenant name or a deployment id only; the work is done again with
the clicker's own rights.

Approve / Reject sit on the platform's approval message. The click is acknowledged at once;
the decision is made lazily through the API as the clicker (an unlinked clicker is asked to
link first, by the middleware). Whatever the API answers goes to the clicker alone, as an
ephemeral message: the approval message itself is only ever changed by the platform's
notifier, so a second click, a second approver or a retried delivery can never show, or
cause, a second deployment.
"""

from __future__ import annotations

from typing import Any

from caller import SlackCaller
from replies import reply
from slack_blocks import tenant_details
from slack_bolt import Ack, App, BoltContext
from slack_errors import replied_errors
from slack_ids import ActionId

from idp.client import PlatformClient
from idp.errors import Conflict, IdpError
from idp.schemas.deploy import DeploymentRead
from idp.slack_messages import escape, when

__all__ = ["register"]


def ack_action(ack: Ack) -> None:
    ack()


def _action(body: dict[str, Any]) -> dict[str, Any]:
    action = (body.get("actions") or [{}])[0]
    return action if isinstance(action, dict) else {}


def show_tenant(body: dict[str, Any], context: BoltContext) -> None:
    with replied_errors(body):
        _show_tenant(body, context)


def _show_tenant(body: dict[str, Any], context: BoltContext) -> None:
    name = str(_action(body).get("value") or "")
    caller: SlackCaller = context["idp_caller"]
    tenant = caller.api().get_tenant(name)
    reply(body, f"Tenant {tenant.name}", tenant_details(tenant))


def decide_deployment(body: dict[str, Any], context: BoltContext) -> None:
    with replied_errors(body):
        _decide_deployment(body, context)


def _what(d: DeploymentRead, *, start: str = "the") -> str:
    verb = "rollback" if d.kind == "rollback" else "deployment"
    return f"{start} {verb} of `{escape(d.tenant)}/{escape(d.app)}` `{escape(d.revision)}` to *{escape(d.environment)}*"


def _decide_deployment(body: dict[str, Any], context: BoltContext) -> None:
    action = _action(body)
    deployment_id = str(action.get("value") or "")
    approving = action.get("action_id") == ActionId.DEPLOY_APPROVE
    caller: SlackCaller = context["idp_caller"]
    api = caller.api()
    try:
        decided = api.approve(deployment_id) if approving else api.reject(deployment_id)
    except Conflict as error:
        if error.code != "already_decided":
            raise
        reply(body, _already_decided(api, deployment_id, error))
        return
    if approving:
        text = f":white_check_mark: You approved {_what(decided)}; progress follows in the message's thread."
    else:
        text = f":no_entry_sign: You rejected {_what(decided)}; nothing will be deployed."
    reply(body, text)


def _already_decided(api: PlatformClient, deployment_id: str, error: IdpError) -> str:
    """Who decided first, and when (the API's own words if the deployment cannot be read)."""
    try:
        current = api.get_deployment(deployment_id)
    except IdpError:
        return f":information_source: {error.message}"
    if current.decided_by is None:
        return f":information_source: {_what(current, start='The')} is already `{escape(current.state)}`."
    verb = "rejected" if current.state == "rejected" else "approved"
    return (
        f":information_source: {_what(current, start='The')} was already {verb} by"
        f" *{escape(current.decided_by)}* at {when(current.decided_at)} (now `{escape(current.state)}`)."
    )


def register(app: App) -> None:
    app.action(ActionId.TENANT_SHOW.value)(ack=ack_action, lazy=[show_tenant])
    for action in (ActionId.DEPLOY_APPROVE, ActionId.DEPLOY_REJECT):
        app.action(action.value)(ack=ack_action, lazy=[decide_deployment])
