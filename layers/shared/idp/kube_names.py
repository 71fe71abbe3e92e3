"""Kubernetes naming and quantity rules, checked before anything reaches the cluster."""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "DNS1123_LABEL",
    "MAX_LABEL",
    "is_dns1123_label",
    "parse_quantity",
    "validate_dns1123_label",
    "validate_quantity",
]

MAX_LABEL = 63
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(
    r"^(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def is_dns1123_label(value: str) -> bool:
    return len(value) <= MAX_LABEL and bool(DNS1123_LABEL.match(value))


def validate_dns1123_label(value: str) -> str:
    """For pydantic validators: the value unchanged, or ValueError saying what a label is."""
    if not is_dns1123_label(value):
        raise ValueError(
            "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric"
        )
    return value


def validate_quantity(value: str) -> str:
    """Returns the quantity unchanged, or raises ValueError saying what a quantity looks like."""
    if not isinstance(value, str) or not _QUANTITY.match(value.strip()) or value != value.strip():
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 4Gi, 512Mi)")
    return value


def parse_quantity(value: str) -> Decimal:
    match = _QUANTITY.match(validate_quantity(value))
    assert match is not None
    number, suffix = Decimal(match.group("number")), match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))
