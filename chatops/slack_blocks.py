"""Block Kit for the chat-ops app's messages and modals, within Slack's limits
(50 blocks a message, 3,000 characters a section, 24 a modal title, 3,000 of metadata)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from slack_ids import ActionId, BlockId, CallbackId

from idp.schemas.tenants import MemberRead, TenantRead

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "ModalMetadata",
    "error_view",
    "member_added",
    "tenant_create_modal",
    "tenant_created",
    "tenant_details",
    "tenant_list",
    "truncate",
]

MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_METADATA = 3000
Block = dict[str, Any]


class ModalMetadata(BaseModel):
    """What a modal carries to its submission: where to post the result."""

    channel_id: str | None = None
    response_url: str | None = None

    def encode(self) -> str:
        text = self.model_dump_json(exclude_none=True)
        return text if len(text) <= MAX_METADATA else ModalMetadata(channel_id=self.channel_id).model_dump_json()

    @classmethod
    def decode(cls, text: str | None) -> ModalMetadata:
        try:
            return cls.model_validate(json.loads(text or "{}"))
        except ValueError:
            return cls()


def truncate(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}, **extra}


def _plain(text: str, limit: int = 75) -> dict[str, str]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def tenant_list(tenants: list[TenantRead]) -> list[Block]:
    if not tenants:
        return [_section("You are not a member of any tenant yet. Create one with `/idp tenant create`.")]
    blocks: list[Block] = [_section(f"*Your tenants* ({len(tenants)})")]
    room = MAX_MESSAGE_BLOCKS - 2  # the heading, and the "more" line
    for tenant in tenants[:room]:
        line = f"*{tenant.name}* — {tenant.display_name}\n`{tenant.status}` · {', '.join(tenant.environments)}"
        button = {
            "type": "button",
            "text": _plain("Details"),
            "action_id": ActionId.TENANT_SHOW.value,
            "value": tenant.name,
        }
        blocks.append(_section(line, accessory=button))
    if len(tenants) > room:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"…and {len(tenants) - room} more: use the CLI or API"}],
            }
        )
    return blocks


def tenant_details(tenant: TenantRead) -> list[Block]:
    namespaces = ", ".join(f"`{ns}`" for ns in tenant.namespaces.values()) or "none"
    status = f"`{tenant.status}`" + (f" ({tenant.status_reason})" if tenant.status_reason else "")
    fields = [
        f"*Tenant*\n{tenant.name}",
        f"*Display name*\n{tenant.display_name}",
        f"*Status*\n{status}",
        f"*Created by*\n{tenant.created_by}",
        f"*Namespaces*\n{namespaces}",
        "*Repositories*\n" + ("\n".join(f"`{repo}`" for repo in tenant.repositories) or "none"),
    ]
    return [{"type": "section", "fields": [{"type": "mrkdwn", "text": truncate(f, 2000)} for f in fields]}]


def tenant_created(tenant: TenantRead) -> list[Block]:
    return [_section(f":white_check_mark: Tenant *{tenant.name}* is `{tenant.status}`."), *tenant_details(tenant)]


def member_added(tenant: str, member: MemberRead) -> list[Block]:
    return [_section(f":white_check_mark: *{member.user}* is now `{member.role}` in tenant *{tenant}*.")]


def tenant_create_modal(metadata: ModalMetadata, default_environments: list[str]) -> dict[str, Any]:
    def text_input(block: BlockId, action: ActionId, label: str, placeholder: str, **extra: Any) -> Block:
        element: Block = {"type": "plain_text_input", "action_id": action.value, "placeholder": _plain(placeholder)}
        element.update(extra.pop("element", {}))
        return {"type": "input", "block_id": block.value, "label": _plain(label), "element": element, **extra}

    return {
        "type": "modal",
        "callback_id": CallbackId.TENANT_CREATE.value,
        "title": _plain("Create a tenant", 24),
        "submit": _plain("Create", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": metadata.encode(),
        "blocks": [
            text_input(
                BlockId.TENANT_NAME,
                ActionId.TENANT_NAME_INPUT,
                "Name",
                "payments",
                hint=_plain("Lowercase letters, digits and '-'; namespaces are <name>-<env>.", 150),
            ),
            text_input(
                BlockId.TENANT_DISPLAY_NAME, ActionId.TENANT_DISPLAY_NAME_INPUT, "Display name", "Payments team"
            ),
            text_input(
                BlockId.TENANT_ENVIRONMENTS,
                ActionId.TENANT_ENVIRONMENTS_INPUT,
                "Environments",
                "dev, staging, prod",
                optional=True,
                element={"initial_value": ", ".join(default_environments)},
            ),
        ],
    }


def error_view(message: str) -> dict[str, Any]:
    """A modal that says what went wrong (for a submission that failed outside its fields)."""
    return {
        "type": "modal",
        "title": _plain("Something went wrong", 24),
        "close": _plain("Close", 24),
        "blocks": [_section(message)],
    }
