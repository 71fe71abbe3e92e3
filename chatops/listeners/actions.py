"""Buttons: the value carries a tenant name only; the answer is fetched again with the
clicker's own rights."""

from __future__ import annotations

from typing import Any

from caller import SlackCaller
from replies import reply
from slack_blocks import tenant_details
from slack_bolt import Ack, App, BoltContext
from slack_errors import replied_errors
from slack_ids import ActionId

__all__ = ["register"]


def ack_action(ack: Ack) -> None:
    ack()


def show_tenant(body: dict[str, Any], context: BoltContext) -> None:
    with replied_errors(body):
        _show_tenant(body, context)


def _show_tenant(body: dict[str, Any], context: BoltContext) -> None:
    name = str(((body.get("actions") or [{}])[0]).get("value") or "")
    caller: SlackCaller = context["idp_caller"]
    tenant = caller.api().get_tenant(name)
    reply(body, f"Tenant {tenant.name}", tenant_details(tenant))


def register(app: App) -> None:
    app.action(ActionId.TENANT_SHOW.value)(ack=ack_action, lazy=[show_tenant])
