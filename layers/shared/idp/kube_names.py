"""Kubernetes naming and quantity rules, checked before anything reaches the cluster.

Namespace grammar: a tenant's namespace for an environment is `<tenant>-<environment>`,
where the tenant is a DNS-1123 label and the environment is lowercase letters and digits
only (no '-'). The environment is therefore everything after the last '-', so two
different (tenant, environment) pairs can never name the same namespace: `a` + `b-dev`
is refused (the environment has a '-') and `a-b` + `dev` is the only way to `a-b-dev`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fnmatch import fnmatchcase

__all__ = [
    "DNS1123_LABEL",
    "ENVIRONMENT",
    "MAX_ENVIRONMENT",
    "MAX_LABEL",
    "is_dns1123_label",
    "is_environment",
    "namespace_name",
    "parse_quantity",
    "reserved_pattern",
    "split_namespace",
    "validate_dns1123_label",
    "validate_environment",
    "validate_quantity",
]

MAX_LABEL = 63
MAX_ENVIRONMENT = 20
# fullmatch everywhere: Python's `$` would accept a trailing newline.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
ENVIRONMENT = re.compile(r"[a-z0-9]+")
_QUANTITY = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def is_dns1123_label(value: str) -> bool:
    return len(value) <= MAX_LABEL and bool(DNS1123_LABEL.fullmatch(value))


def is_environment(value: str) -> bool:
    return len(value) <= MAX_ENVIRONMENT and bool(ENVIRONMENT.fullmatch(value))


def validate_environment(value: str) -> str:
    """For pydantic validators: the value unchanged, or ValueError saying what an environment name is."""
    if not is_environment(value):
        raise ValueError(
            f"environment {value!r} must be 1 to {MAX_ENVIRONMENT} lowercase letters or digits"
            " (no '-': the namespace <tenant>-<environment> must name one tenant and one environment)"
        )
    return value


def namespace_name(tenant: str, environment: str) -> str:
    """The namespace of a tenant's environment (one-to-one: see the module's grammar)."""
    return f"{tenant}-{environment}"


def split_namespace(namespace: str) -> tuple[str, str] | None:
    """(tenant, environment) for a name of the grammar, None otherwise: the inverse of `namespace_name`."""
    tenant, sep, environment = namespace.rpartition("-")
    if not sep or not is_dns1123_label(tenant) or not is_environment(environment):
        return None
    return tenant, environment


def reserved_pattern(namespace: str, patterns: list[str]) -> str | None:
    """The first reserved pattern (`kube-*`, `default`, ...) the namespace matches, or None."""
    return next((p for p in patterns if fnmatchcase(namespace, p)), None)


def validate_dns1123_label(value: str) -> str:
    """For pydantic validators: the value unchanged, or ValueError saying what a label is."""
    if not is_dns1123_label(value):
        raise ValueError(
            "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric"
        )
    return value


def validate_quantity(value: str) -> str:
    """Returns the quantity unchanged, or raises ValueError saying what a quantity looks like."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value.strip()) or value != value.strip():
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 4Gi, 512Mi)")
    return value


def parse_quantity(value: str) -> Decimal:
    match = _QUANTITY.fullmatch(validate_quantity(value))
    assert match is not None
    number, suffix = Decimal(match.group("number")), match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))
