"""`/idp <text>` parsed into a command and its arguments; anything else is a usage error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

from idp.errors import InvalidInput
from idp.tenants.models import Role

__all__ = ["USAGE", "Command", "MemberMention", "parse", "parse_mention"]

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
}
_ROLES: tuple[str, ...] = get_args(Role)
# Slack escapes a mention as <@U123|name> (or <@U123> without a name).
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


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
    expected = _ARGUMENTS[name]
    if len(rest) != len(expected):
        wanted = " ".join(f"<{arg}>" for arg in expected)
        raise _usage(f"`/idp {name}` takes {len(expected) or 'no'} argument(s){': ' + wanted if wanted else ''}.")
    args = dict(zip(expected, rest, strict=True))
    if "role" in args:
        args["role"] = args["role"].lower()
        if args["role"] not in _ROLES:
            raise _usage(f"Unknown role `{args['role'][:30]}`: use one of {', '.join(_ROLES)}.")
    if "user" in args:
        parse_mention(args["user"])
    return Command(name, args)


def parse_mention(text: str) -> MemberMention:
    match = _MENTION.match(text)
    if match is None:
        raise _usage("Name the member with an @mention, e.g. `@alice`.")
    return MemberMention(match.group(1))
