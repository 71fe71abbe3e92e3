from decimal import Decimal

import pytest

from idp.kube_names import is_dns1123_label, parse_quantity, validate_quantity


@pytest.mark.parametrize("name", ["a", "team-a", "a1", "x" * 63])
def test_valid_labels(name: str) -> None:
    assert is_dns1123_label(name)


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "a.b", "x" * 64])
def test_invalid_labels(name: str) -> None:
    assert not is_dns1123_label(name)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1Gi", Decimal(2**30)),
        ("1.5k", Decimal(1500)),
        ("1e3", Decimal(1000)),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1GB", "-1", " 1", "1 Gi", "Gi"])
def test_bad_quantities_say_what_a_quantity_is(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        validate_quantity(text)
