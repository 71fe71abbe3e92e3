"""The one input grammar: every name, id, revision, channel and free text the API accepts.

Each type full-matches its grammar (patterns run on pydantic's Rust engine, where `$` is the
true end of the text; the Python checks use `fullmatch`), so a trailing newline is never part
of a name. Control characters and NUL are refused in every string a request carries: free
text allows only tab and line breaks; every other type allows none. The models in
`idp.schemas` use these types; nothing else defines what a name is.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from idp.kube_names import MAX_LABEL, validate_dns1123_label, validate_environment

__all__ = [
    "CONTROL_CHARACTERS",
    "AppName",
    "EnvironmentName",
    "Line",
    "Name",
    "Revision",
    "SlackChannel",
    "SlackId",
    "Text",
    "UserId",
    "no_control_characters",
]

# C0 controls, DEL and the C1 block; NUL included.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but \t \n \r


def no_control_characters(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters (NUL, newlines, tabs, ...)")
    return value


def _text(value: str) -> str:
    if _TEXT_CONTROLS.search(value):
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return value


def _revision(value: str) -> str:
    if value.startswith("-") or ".." in value:
        raise ValueError("a revision must not start with '-' or contain '..'")
    return value


# A DNS-1123 label: tenants, service accounts.
Name = Annotated[str, Field(min_length=1, max_length=MAX_LABEL), AfterValidator(validate_dns1123_label)]
# Apps are shorter: Argo CD names <tenant>-<app>-<env> must fit 63 characters.
AppName = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(validate_dns1123_label)]
EnvironmentName = Annotated[str, Field(min_length=1, max_length=20), AfterValidator(validate_environment)]
# A git revision: a branch, tag or commit SHA (no spaces, no "..", no leading "-").
Revision = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._/@+-]+$"), AfterValidator(_revision)
]
SlackChannel = Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{2,30}$")]
# Slack team and user ids: T0123ABCD, E0123ABCD (Enterprise Grid), U0123ABCD, W0123ABCD.
SlackId = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,64}$")]
# A platform user id (the verified e-mail at first sign-in): no whitespace, no '/', no controls.
UserId = Annotated[str, Field(min_length=1, max_length=254, pattern=r"^[^\s/\x00-\x1f\x7f]+$")]
# One line of text a person typed (display names).
Line = Annotated[str, AfterValidator(no_control_characters)]
# Free text a person typed (comments): tabs and line breaks allowed, no other control.
Text = Annotated[str, AfterValidator(_text)]
