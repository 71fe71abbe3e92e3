"""The one input grammar, tried with generated input (hypothesis): whatever the text, a name is
matched whole and no control character gets through any type of idp.schemas.grammar."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from idp.schemas import grammar

TYPES = {
    "Name": grammar.Name,
    "AppName": grammar.AppName,
    "EnvironmentName": grammar.EnvironmentName,
    "Revision": grammar.Revision,
    "SlackChannel": grammar.SlackChannel,
    "SlackId": grammar.SlackId,
    "UserId": grammar.UserId,
    "Line": grammar.Line,
}
ADAPTERS = {name: TypeAdapter(kind) for name, kind in TYPES.items()}
CONTROL = st.sampled_from([chr(c) for c in [*range(0x00, 0x20), 0x7F]])
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _accepts(name: str, value: str) -> bool:
    try:
        ADAPTERS[name].validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(TYPES))
@given(before=st.text(max_size=20), control=CONTROL, after=st.text(max_size=20))
def test_no_type_lets_a_control_character_through(name: str, before: str, control: str, after: str) -> None:
    assert not _accepts(name, before + control + after)


@given(value=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?", fullmatch=True))
def test_every_dns_label_is_a_name_and_with_a_newline_none_is(value: str) -> None:
    assert _accepts("Name", value)
    assert not _accepts("Name", value + "\n")


@given(value=st.text(max_size=70))
def test_a_name_is_exactly_a_dns1123_label(value: str) -> None:
    assert _accepts("Name", value) == (len(value) <= 63 and LABEL.fullmatch(value) is not None)


@given(value=st.text(max_size=30))
def test_an_environment_is_letters_and_digits_only(value: str) -> None:
    assert _accepts("EnvironmentName", value) == (re.fullmatch(r"[a-z0-9]{1,20}", value) is not None)


@given(value=st.text(alphabet=st.characters(codec="ascii"), max_size=40))
def test_a_revision_never_starts_with_a_dash_nor_holds_two_dots(value: str) -> None:
    if _accepts("Revision", value):
        assert not value.startswith("-") and ".." not in value and re.fullmatch(r"[A-Za-z0-9._/@+-]+", value)


@given(text=st.text(max_size=60))
def test_free_text_allows_line_breaks_and_tabs_but_no_other_control(text: str) -> None:
    allowed = all(c in "\t\n\r" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in text)
    adapter = TypeAdapter(grammar.Text)
    if allowed:
        assert adapter.validate_python(text) == text
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(text)
