"""`/idp ...`: parse and answer in the ack step (help, link, usage errors, the create modal),
then do the API work lazily and post one reply."""

from __future__ import annotations

from typing import Any

from api_client import chatops_api
from caller import SlackCaller, linked_user_of
from command_parser import USAGE, Command, parse, parse_mention
from deploy_commands import DEPLOY_COMMANDS, run_deploy_command
from replies import reply
from slack_blocks import ModalMetadata, member_added, tenant_create_modal, tenant_details, tenant_list
from slack_bolt import Ack, App, BoltContext
from slack_errors import replied_errors
from slack_sdk import WebClient

from idp.config import get_settings
from idp.errors import InvalidInput
from idp.schemas.tenants import MemberCreate

__all__ = ["register"]

COMMAND = "/idp"
_LAZY = {"whoami", "tenant list", "tenant show", "tenant add-member", *DEPLOY_COMMANDS}


def _caller(context: BoltContext) -> SlackCaller:
    caller: SlackCaller = context["idp_caller"]
    return caller


def ack_command(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    command = parse(str(body.get("text") or ""))
    if command.name == "help":
        ack(response_type="ephemeral", text=USAGE)
    elif command.name == "link":
        ack(response_type="ephemeral", text=_link(_caller(context), command.args["code"]))
    elif command.name == "tenant create":
        _caller(context).require_user()
        metadata = ModalMetadata(channel_id=body.get("channel_id"), response_url=body.get("response_url"))
        client.views_open(
            trigger_id=body["trigger_id"], view=tenant_create_modal(metadata, get_settings().default_environments)
        )
        ack()
    else:
        ack()  # the rest is API work: run_command posts the answer


def run_command(body: dict[str, Any], context: BoltContext) -> None:
    try:
        command = parse(str(body.get("text") or ""))
    except InvalidInput:
        return  # the ack step already answered with the usage
    if command.name not in _LAZY:
        return
    with replied_errors(body):
        _run_command(command, body, context)


def _run_command(command: Command, body: dict[str, Any], context: BoltContext) -> None:
    caller = _caller(context)
    api = caller.api()
    if command.name in DEPLOY_COMMANDS:
        run_deploy_command(command, api, body)
    elif command.name == "whoami":
        me = api.me()
        roles = ", ".join(f"{t.name} ({t.role})" for t in me.tenants) or "no tenants yet"
        admin = " You are a platform admin." if me.platform_admin else ""
        reply(body, f"You act as *{me.user_id}* on the platform.{admin}\nTenants: {roles}")
    elif command.name == "tenant list":
        tenants = api.list_tenants()
        reply(body, f"{len(tenants)} tenant(s)", tenant_list(tenants))
    elif command.name == "tenant show":
        tenant = api.get_tenant(command.args["tenant"])
        reply(body, f"Tenant {tenant.name}", tenant_details(tenant))
    elif command.name == "tenant add-member":
        tenant_name = command.args["tenant"]
        member_id = _platform_user_of(caller, parse_mention(command.args["user"]).slack_user_id)
        member = api.add_member(
            tenant_name, MemberCreate.model_validate({"user": member_id, "role": command.args["role"]})
        )
        reply(body, f"{member.user} is now {member.role} in {tenant_name}", member_added(tenant_name, member))


def _platform_user_of(caller: SlackCaller, slack_user_id: str) -> str:
    """The platform user a mentioned Slack user is linked to (by code, or now by confirmed e-mail)."""
    user = linked_user_of(chatops_api(caller.api_url), caller.team_id, slack_user_id)
    if user is None:
        raise InvalidInput(
            f"<@{slack_user_id}> has not linked their Slack account to the platform yet; ask them to run"
            " `idp link` and type `/idp link &lt;code&gt;`.",
            code="member_not_linked",
        )
    return user


def _link(caller: SlackCaller, code: str) -> str:
    # The auth function counts attempts per Slack user (429 `link_rate_limited` past five in ten minutes).
    link = chatops_api(caller.api_url).slack_link(caller.team_id, caller.slack_user_id, code)
    return f":link: Linked: you now act as *{link.user_id}* on the platform."


def _does_api_work(body: dict[str, Any]) -> bool:
    """The command is answered after the ack (`_LAZY`); help, link, usage errors and the modal are not."""
    try:
        return parse(str(body.get("text") or "")).name in _LAZY
    except InvalidInput:
        return False


def register(app: App) -> None:
    # Only commands that do API work start the lazy listener: on Lambda each start is a second,
    # asynchronous invocation of this function (boto3's Lambda client and an Invoke call), which
    # `/idp help` paid for nothing on every request, its cold start too (bench/cold_start.py).
    app.command(COMMAND, matchers=[_does_api_work])(ack=ack_command, lazy=[run_command])
    app.command(COMMAND)(ack_command)
