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


def test_tenant_and_environment_map_to_namespaces_one_to_one() -> None:
    """Every pair of tricky names the grammar admits maps to its own namespace, and back."""
    from itertools import product

    from idp.kube_names import is_environment, namespace_name, split_namespace

    parts = ["a", "b", "dev", "a-b", "b-dev", "a-b-dev", "dev1", "1", "x-1", "kube", "kube-system", "a--b", "prod"]
    tenants = [t for t in parts if is_dns1123_label(t)]
    environments = [e for e in parts if is_environment(e)]
    assert "b-dev" not in environments and "a-b" in tenants  # the collision `a`+`b-dev` / `a-b`+`dev` cannot form
    seen: dict[str, tuple[str, str]] = {}
    for tenant, environment in product(tenants, environments):
        namespace = namespace_name(tenant, environment)
        assert namespace not in seen, f"{(tenant, environment)} and {seen[namespace]} both map to {namespace}"
        seen[namespace] = (tenant, environment)
        assert split_namespace(namespace) == (tenant, environment)


@pytest.mark.parametrize("environment", ["", "b-dev", "Dev", "dev\n", "dev ", "d_v", "x" * 21])
def test_environment_names_are_lowercase_letters_and_digits_only(environment: str) -> None:
    from idp.kube_names import validate_environment

    with pytest.raises(ValueError, match="lowercase letters or digits"):
        validate_environment(environment)


def test_a_trailing_newline_is_never_a_label() -> None:
    assert not is_dns1123_label("dev\n")


def test_reserved_patterns_match_whole_names() -> None:
    from idp.kube_names import reserved_pattern

    patterns = ["default", "kube-*"]
    assert reserved_pattern("kube-system", patterns) == "kube-*"
    assert reserved_pattern("default", patterns) == "default"
    assert reserved_pattern("default-dev", patterns) is None
    assert reserved_pattern("mykube-dev", patterns) is None
