"""`/idp <text>` parsed into a command and its arguments; anything else is a usage error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

from idp.errors import InvalidInput
from idp.schemas.tenants import Role

__all__ = ["USAGE", "AppRef", "Command", "MemberMention", "parse", "parse_app", "parse_mention"]

USAGE = "\n".join(
    [
        "*Usage*",
        "• `/idp help` — this message",
        "• `/idp whoami` — the platform user you act as",
        "• `/idp link &lt;code&gt;` — link your Slack account (run `idp link` to get a code)",
        "• `/idp tenant list` — your tenants",
        "• `/idp tenant show &lt;tenant&gt;` — one tenant",
        "• `/idp tenant create` — create a tenant (opens a form)",
        "• `/idp tenant add-member &lt;tenant&gt; @user &lt;owner|admin|developer|viewer&gt;`"
        " — add a member or change a role",
        "• `/idp deploy &lt;app&gt; &lt;env&gt; [revision]` — deploy a revision (default HEAD)",
        "• `/idp status &lt;app&gt;` — sync, health and revision per environment",
        "• `/idp history &lt;app&gt; [env]` — the last deployments",
        "• `/idp rollback &lt;app&gt; &lt;env&gt; [to]` — back to the previous (or a given) revision",
        "`&lt;app&gt;` may be `tenant/app` when several of your tenants have an app of that name.",
    ]
)

# Command name -> the names of its arguments.
_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "help": (),
    "whoami": (),
    "link": ("code",),
    "tenant list": (),
    "tenant show": ("tenant",),
    "tenant create": (),
    "tenant add-member": ("tenant", "user", "role"),
    "deploy": ("app", "env"),
    "status": ("app",),
    "history": ("app",),
    "rollback": ("app", "env"),
}
# Command name -> the names of its optional trailing arguments.
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "deploy": ("revision",),
    "history": ("env",),
    "rollback": ("to",),
}
_ROLES: tuple[str, ...] = get_args(Role)
# Slack escapes a mention as <@U123|name> (or <@U123> without a name).
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Command:
    name: str
    args: dict[str, str]


@dataclass(frozen=True)
class MemberMention:
    slack_user_id: str


def _usage(problem: str) -> InvalidInput:
    return InvalidInput(f"{problem}\n{USAGE}", code="usage")


def parse(text: str) -> Command:
    """The command in `text` (empty text is `help`); InvalidInput (code `usage`) otherwise."""
    words = text.split()
    if not words:
        return Command("help", {})
    name = words[0].lower()
    rest = words[1:]
    if name == "tenant":
        if not rest:
            raise _usage("`/idp tenant` needs a subcommand.")
        name, rest = f"tenant {rest[0].lower()}", rest[1:]
    if name not in _ARGUMENTS:
        raise _usage(f"Unknown command `{' '.join(words[:2])[:60]}`.")
    expected, optional = _ARGUMENTS[name], _OPTIONAL.get(name, ())
    if not len(expected) <= len(rest) <= len(expected) + len(optional):
        wanted = " ".join([*(f"&lt;{arg}&gt;" for arg in expected), *(f"[{arg}]" for arg in optional)])
        count = f"{len(expected)} to {len(expected) + len(optional)}" if optional else str(len(expected) or "no")
        raise _usage(f"`/idp {name}` takes {count} argument(s){': `' + wanted + '`' if wanted else ''}.")
    args = dict(zip(expected + optional, rest, strict=False))
    if "role" in args:
        args["role"] = args["role"].lower()
        if args["role"] not in _ROLES:
            raise _usage(f"Unknown role `{args['role'][:30]}`: use one of {', '.join(_ROLES)}.")
    if "user" in args:
        parse_mention(args["user"])
    if "app" in args:
        parse_app(args["app"])
    return Command(name, args)


@dataclass(frozen=True)
class AppRef:
    """`app` or `tenant/app` as typed; `tenant` None when it is to be found."""

    tenant: str | None
    app: str

    def __str__(self) -> str:
        return f"{self.tenant}/{self.app}" if self.tenant else self.app


def parse_app(text: str) -> AppRef:
    tenant, _, app = text.lower().rpartition("/")
    if not _NAME.match(app) or (tenant and not _NAME.match(tenant)):
        raise _usage(f"`{text[:60]}` is not an app name: use `app` or `tenant/app`.")
    return AppRef(tenant or None, app)


def parse_mention(text: str) -> MemberMention:
    match = _MENTION.match(text)
    if match is None:
        raise _usage("Name the member with an @mention, e.g. `@alice`.")
    return MemberMention(match.group(1))
