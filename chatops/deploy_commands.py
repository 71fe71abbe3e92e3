"""`/idp deploy|status|history|rollback`, run lazily as the linked user through the platform API.

The app named in the command is found with `GET /apps?name=` (or taken as `tenant/app`);
a deploy or rollback reports in the channel it was typed in (`slack_channel`) and carries
`Idempotency-Key: slack-<trigger_id>`, so a Lambda retry of this lazy work (or a
duplicated delivery) returns the first deployment instead of making a second one.
"""

from __future__ import annotations

import re
from typing import Any

from command_parser import AppRef, Command, parse_app
from deploy_blocks import app_status, deployment_accepted, deployment_history
from pydantic import ValidationError
from replies import reply

from idp.client import PlatformClient
from idp.errors import InvalidInput, NotFound
from idp.schemas.deploy import DeploymentCreate, DeploymentRead, RollbackCreate

__all__ = ["DEPLOY_COMMANDS", "resolve_app", "run_deploy_command"]

DEPLOY_COMMANDS = frozenset({"deploy", "status", "history", "rollback"})
HISTORY_LIMIT = 10
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def resolve_app(api: PlatformClient, ref: AppRef) -> tuple[str, str]:
    """(tenant, app): `tenant/app` as given, else the one app of that name among the caller's tenants."""
    if ref.tenant is not None:
        return ref.tenant, ref.app
    found = [app for app in api.find_apps(ref.app) if app.name == ref.app]
    if not found:
        raise NotFound(
            f"No app named `{ref.app}` in your tenants. `/idp status tenant/app` names one exactly.",
            code="app_not_found",
        )
    tenants = sorted({app.tenant for app in found})
    if len(tenants) > 1:
        choices = ", ".join(f"`{tenant}/{ref.app}`" for tenant in tenants)
        raise InvalidInput(
            f"Several of your tenants have an app named `{ref.app}`: say which one, e.g. {choices}.",
            code="app_ambiguous",
        )
    return tenants[0], ref.app


def _request(model: type[DeploymentCreate] | type[RollbackCreate], fields: dict[str, Any]) -> Any:
    """The request body, or InvalidInput naming what is wrong (a bad revision, say)."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"`{'.'.join(str(part) for part in item.get('loc') or ())}`: {item.get('msg')}" for item in error.errors()
        )
        raise InvalidInput(f"That request is not valid: {problems}", code="usage") from None


def _channel(body: dict[str, Any]) -> str | None:
    channel = str(body.get("channel_id") or "")
    return channel if _CHANNEL.match(channel) else None


def _idempotency_key(body: dict[str, Any]) -> str | None:
    trigger = body.get("trigger_id")
    return f"slack-{trigger}" if trigger else None


def _accepted(body: dict[str, Any], deployment: DeploymentRead) -> None:
    text, blocks = deployment_accepted(deployment)
    reply(body, text, blocks)


def run_deploy_command(command: Command, api: PlatformClient, body: dict[str, Any]) -> None:
    """Calls the API for `command` and posts the one answer to the requester (errors raise)."""
    tenant, app = resolve_app(api, parse_app(command.args["app"]))
    args = command.args
    if command.name == "deploy":
        request = _request(
            DeploymentCreate,
            {"environment": args["env"], "revision": args.get("revision"), "slack_channel": _channel(body)},
        )
        _accepted(body, api.request_deployment(tenant, app, request, idempotency_key=_idempotency_key(body)))
    elif command.name == "rollback":
        request = _request(
            RollbackCreate, {"environment": args["env"], "to": args.get("to"), "slack_channel": _channel(body)}
        )
        _accepted(body, api.request_rollback(tenant, app, request, idempotency_key=_idempotency_key(body)))
    elif command.name == "status":
        text, blocks = app_status(api.get_app(tenant, app))
        reply(body, text, blocks)
    elif command.name == "history":
        environment = args.get("env")
        items = api.list_deployments(tenant, app, environment=environment, limit=HISTORY_LIMIT)
        text, blocks = deployment_history(tenant, app, environment, items)
        reply(body, text, blocks)
