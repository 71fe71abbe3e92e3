"""Modal submissions: validate in the ack (field errors shown in the modal), create lazily."""

from __future__ import annotations

from typing import Any

from caller import SlackCaller
from pydantic import ValidationError
from replies import reply
from slack_blocks import tenant_created
from slack_bolt import Ack, App, BoltContext
from slack_errors import replied_errors
from slack_ids import ActionId, BlockId, CallbackId

from idp.schemas.tenants import TenantCreate

__all__ = ["register"]

# TenantCreate field -> the modal block that edits it (model-level errors go to the name).
_FIELD_BLOCKS = {
    "name": BlockId.TENANT_NAME,
    "display_name": BlockId.TENANT_DISPLAY_NAME,
    "environments": BlockId.TENANT_ENVIRONMENTS,
}


def _value(view: dict[str, Any], block: BlockId, action: ActionId) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(block.value) or {}
    return str((state.get(action.value) or {}).get("value") or "").strip()


def _tenant_request(view: dict[str, Any]) -> TenantCreate:
    """The submitted form as a TenantCreate; ValidationError names the fields."""
    fields: dict[str, Any] = {
        "name": _value(view, BlockId.TENANT_NAME, ActionId.TENANT_NAME_INPUT),
        "display_name": _value(view, BlockId.TENANT_DISPLAY_NAME, ActionId.TENANT_DISPLAY_NAME_INPUT),
    }
    environments = _value(view, BlockId.TENANT_ENVIRONMENTS, ActionId.TENANT_ENVIRONMENTS_INPUT)
    if environments:
        fields["environments"] = [env.strip() for env in environments.replace(",", " ").split()]
    return TenantCreate.model_validate(fields)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic errors as {block_id: message}, the first message per block."""
    errors: dict[str, str] = {}
    for item in error.errors():
        loc = item.get("loc") or ()
        block = _FIELD_BLOCKS.get(str(loc[0]) if loc else "name", BlockId.TENANT_NAME)
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.setdefault(block.value, message[:150])
    return errors


def ack_tenant_create(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    context["idp_caller"].require_user()
    try:
        _tenant_request(body["view"])
    except ValidationError as error:
        ack(response_action="errors", errors=field_errors(error))
        return
    ack()


def create_tenant(body: dict[str, Any], context: BoltContext) -> None:
    with replied_errors(body):
        _create_tenant(body, context)


def _create_tenant(body: dict[str, Any], context: BoltContext) -> None:
    """Idempotent: the API's create is create-or-update, so a Lambda retry repeats no harm."""
    try:
        request = _tenant_request(body["view"])
    except ValidationError:
        return  # the ack showed the errors in the modal
    caller: SlackCaller = context["idp_caller"]
    tenant = caller.api().create_tenant(request)
    reply(body, f"Tenant {tenant.name} is {tenant.status}", tenant_created(tenant))


def register(app: App) -> None:
    app.view(CallbackId.TENANT_CREATE.value)(ack=ack_tenant_create, lazy=[create_tenant])
