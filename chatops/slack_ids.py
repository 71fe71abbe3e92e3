"""Every block, action and callback id the chat-ops app uses, in one place.

Ids are part of the contract with Slack (a modal submitted after a deploy still carries
the ids it was opened with): rename one only together with its listener.
"""

from __future__ import annotations

from enum import StrEnum

from idp.slack_messages import APPROVE_ACTION_ID, DECISION_BLOCK_ID, REJECT_ACTION_ID

__all__ = ["ActionId", "BlockId", "CallbackId"]


class CallbackId(StrEnum):
    """Modal (view) callback ids."""

    TENANT_CREATE = "idp_tenant_create"


class BlockId(StrEnum):
    """Input blocks of modals; `ack(response_action="errors")` names these."""

    TENANT_NAME = "tenant_name"
    TENANT_DISPLAY_NAME = "tenant_display_name"
    TENANT_ENVIRONMENTS = "tenant_environments"
    TENANT_ACTIONS = "tenant_actions"
    # The platform posts the approval message (idp.slack_messages): one definition.
    DEPLOY_DECISION = DECISION_BLOCK_ID


class ActionId(StrEnum):
    """Interactive elements; a button's value carries a tenant name or a deployment id, never a payload."""

    TENANT_NAME_INPUT = "tenant_name_input"
    TENANT_DISPLAY_NAME_INPUT = "tenant_display_name_input"
    TENANT_ENVIRONMENTS_INPUT = "tenant_environments_input"
    TENANT_SHOW = "tenant_show"
    # On the platform's approval message (idp.slack_messages); the value is the deployment id.
    DEPLOY_APPROVE = APPROVE_ACTION_ID
    DEPLOY_REJECT = REJECT_ACTION_ID
