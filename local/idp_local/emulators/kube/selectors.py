"""Label and field selectors, parsed and matched like ``k8s.io/apimachinery``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldRequirement",
    "LabelRequirement",
    "SelectorError",
    "field_selectable",
    "label_key_error",
    "label_value_error",
    "parse_field_selector",
    "parse_label_selector",
]

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
# Always fullmatch: Python's `$` also matches before a trailing newline, Go's does not.
_NAME_RE = re.compile(f"^{_NAME}$")
_VALUE_RE = re.compile(f"^({_NAME})?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_OPS = frozenset({"==", "!=", "=", "(", ")", ",", "!", ">", "<"})
_TOKEN_RE = re.compile(r"==|!=|=|\(|\)|,|!|>|<|[^\s=!(),<>]+")

_QUALIFIED_NAME_HELP = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
    "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


class SelectorError(ValueError):
    """A selector that does not parse; answered as 400 BadRequest."""


def label_key_error(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN_RE.fullmatch(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _NAME_RE.fullmatch(name):
        return _QUALIFIED_NAME_HELP
    return None


def label_value_error(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    return None if _VALUE_RE.fullmatch(value) else _LABEL_VALUE_HELP


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        try:
            number = int(value)
        except ValueError:
            return False
        bound = int(self.values[0])
        return present and (number > bound if self.op == ">" else number < bound)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN_RE.match(text, pos)
        if match is None:  # pragma: no cover - every non-space character starts a token
            raise SelectorError(f"unable to parse requirement: {text!r}")
        tokens.append(match.group(0))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, why: str) -> SelectorError:
        return SelectorError(f"unable to parse requirement: found '{self.peek() or ''}', {why}")

    def word(self, what: str) -> str:
        token = self.peek()
        if token is None or token in _OPS:
            raise self.fail(f"expected: {what}")
        self.pos += 1
        return token

    def key(self) -> str:
        key = self.word("identifier")
        error = label_key_error(key)
        if error:
            raise SelectorError(f'unable to parse requirement: invalid label key "{key}": {error}')
        return key

    def value(self) -> str:
        token = self.peek()
        value = "" if token is None or token in _OPS else self.word("value")
        error = label_value_error(value)
        if error:
            raise SelectorError(f'unable to parse requirement: invalid label value: "{value}": {error}')
        return value

    def requirement(self) -> LabelRequirement:
        if self.peek() == "!":
            self.take()
            return LabelRequirement(self.key(), "!")
        key = self.key()
        token = self.peek()
        if token is None or token == ",":
            return LabelRequirement(key, "exists")
        self.take()
        if token in ("=", "==", "!="):
            return LabelRequirement(key, "!=" if token == "!=" else "=", (self.value(),))
        if token in (">", "<"):
            bound = self.word("integer")
            if not re.fullmatch(r"-?\d+", bound):
                raise SelectorError(f"unable to parse requirement: invalid integer value {bound!r}")
            return LabelRequirement(key, token, (bound,))
        if token in ("in", "notin"):
            if self.take() != "(":
                raise self.fail("expected: '('")
            values = [self.value()]
            while self.peek() == ",":
                self.take()
                values.append(self.value())
            if self.take() != ")":
                raise self.fail("expected: ')'")
            if values == [""]:
                raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
            return LabelRequirement(key, token, tuple(values))
        self.pos -= 1
        raise self.fail("expected: in, notin, =, ==, !=, gt, lt")

    def parse(self) -> list[LabelRequirement]:
        if not self.tokens:
            return []
        requirements = [self.requirement()]
        while self.peek() is not None:
            if self.take() != ",":
                self.pos -= 1
                raise self.fail("expected: ','")
            requirements.append(self.requirement())
        return requirements


def parse_label_selector(text: str) -> list[LabelRequirement]:
    """Parse ``a=b,c!=d,e in (f,g),!h,i``; raise SelectorError when it does not parse."""
    return _Parser(text).parse()


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (_field_value(obj, self.field) == self.value) != self.negate


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


_FIELDS: dict[str, tuple[str, ...]] = {
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "nodes": ("spec.unschedulable",),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "type",
    ),
}


def field_selectable(plural: str, custom: bool) -> tuple[str, ...]:
    extra = () if custom else _FIELDS.get(plural, ())
    return ("metadata.name", "metadata.namespace", *extra)


def parse_field_selector(text: str, allowed: tuple[str, ...]) -> list[FieldRequirement]:
    """Parse ``metadata.name=x,metadata.namespace!=y``; only ``allowed`` fields are supported."""
    requirements = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", part)
        if match is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        if field not in allowed:
            only = ", ".join(f'"{f}"' for f in allowed)
            raise SelectorError(f'"{field}" is not a known field selector: only {only}')
        requirements.append(FieldRequirement(field, value.strip(), op == "!="))
    return requirements
