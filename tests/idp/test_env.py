"""idp.env: the authorizer's light settings read as idp.config.Settings reads them, and secrets read
through the AWS Parameters and Secrets extension (emulated, moto behind it) with our five-minute cache
and honest forced reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idp import env
from idp.auth.public_keys import PublicKeySet
from idp.config import Settings, function_environment, reset_settings
from idp.errors import DownstreamError
from idp_local.emulators.secrets_extension import SecretsExtensionEmulator

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
TOKEN = "env-test-session-token"
AUTHORIZER_FIELDS = ("jwt_issuer", "jwt_audience", "jwt_leeway_seconds", "jwt_keys_secret_id", "platform_admins")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (*(f.upper() for f in AUTHORIZER_FIELDS), "IDP_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield monkeypatch
    reset_settings()


def _same_answers() -> None:
    full, light = Settings(), env.authorizer_settings()
    for name in AUTHORIZER_FIELDS:
        expected = getattr(full, name)
        assert getattr(light, name) == (tuple(expected) if isinstance(expected, list) else expected), name


def test_the_authorizers_settings_are_the_full_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    _same_answers()


def test_the_authorizers_settings_read_the_environment_as_settings_does(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JWT_ISSUER", "https://issuer.example")
    clean_env.setenv("jwt_audience", "lower-case-name")  # names are case-insensitive
    clean_env.setenv("JWT_LEEWAY_SECONDS", "7")
    clean_env.setenv("JWT_KEYS_SECRET_ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf")
    clean_env.setenv("PLATFORM_ADMINS", '["root@example.com", "ops@example.com"]')
    _same_answers()
    assert env.authorizer_settings().platform_admins == ("root@example.com", "ops@example.com")


def test_the_authorizers_settings_read_the_yaml_file_under_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "idp.yaml"
    config.write_text("jwt_issuer: from-file\njwt_leeway_seconds: 5\nplatform_admins: [root@example.com]\n")
    clean_env.setenv("IDP_CONFIG_FILE", str(config))
    clean_env.setenv("JWT_LEEWAY_SECONDS", "9")
    _same_answers()
    assert env.authorizer_settings().jwt_leeway_seconds == 9 and env.authorizer_settings().jwt_issuer == "from-file"


def test_the_local_runners_function_variables_win_for_both(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PLATFORM_ADMINS", '["process@example.com"]')
    with function_environment({"PLATFORM_ADMINS": '["function@example.com"]', "JWT_ISSUER": "fn"}):
        _same_answers()
        assert env.authorizer_settings().platform_admins == ("function@example.com",)
    assert env.authorizer_settings().platform_admins == ("process@example.com",)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PLATFORM_ADMINS", "root@example.com"), ("PLATFORM_ADMINS", "[1]"), ("JWT_LEEWAY_SECONDS", "x")],
)
def test_malformed_values_are_refused_by_both(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValueError):
        Settings()
    with pytest.raises(ValueError, match=name):
        env.authorizer_settings()


def test_the_extension_is_there_when_its_port_and_the_session_token_are() -> None:
    assert env.secrets_extension({}) is None
    assert env.secrets_extension({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2773"}) is None  # no token: no entry
    found = env.secrets_extension({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2773", "AWS_SESSION_TOKEN": "t"})
    assert found == env.SecretsExtension(port=2773, token="t", caches=True)  # its default: it caches
    off = {"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "false", "AWS_SESSION_TOKEN": "t"}
    assert env.secrets_extension({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "1", **off}).caches is False  # type: ignore[union-attr]
    ttl_zero = {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "1", "AWS_SESSION_TOKEN": "t", "SECRETS_MANAGER_TTL": "0"}
    assert env.secrets_extension(ttl_zero).caches is False  # type: ignore[union-attr]


# -- reading through the extension -----------------------------------------------------------


@pytest.fixture
def sm(aws_endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def secret_id(sm: Any) -> str:
    name = f"idp/test/env-{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString="first")
    return name


def _with_extension(monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, emulator: SecretsExtensionEmulator) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)  # what boto3 reads when a read goes around the extension
    for name, value in {**AWS, "AWS_SESSION_TOKEN": TOKEN, **emulator.environment()}.items():
        monkeypatch.setenv(name, value)
    reset_settings()


@pytest.mark.parametrize("extension_caches", [False, True])
def test_reads_go_through_the_extension_cached_five_minutes_and_forced_reads_are_fresh(
    monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, sm: Any, secret_id: str, extension_caches: bool
) -> None:
    with SecretsExtensionEmulator(sm, token=TOKEN, cache_enabled=extension_caches) as emulator:
        _with_extension(monkeypatch, aws_endpoint, emulator)
        try:
            assert env.read_secret(secret_id) == "first"
            assert emulator.reads == [secret_id]
            sm.put_secret_value(SecretId=secret_id, SecretString="second")  # a rotation elsewhere
            assert env.read_secret(secret_id) == "first"  # our cache: no second read
            assert emulator.reads == [secret_id]

            # A forced read must see the rotation. The extension cannot be told to skip its cache for one
            # read: with its cache on, the forced read goes around it (boto3); with it off, through it.
            assert env.read_secret(secret_id, force=True) == "second"
            assert emulator.reads == ([secret_id] if extension_caches else [secret_id, secret_id])
            assert env.read_secret(secret_id) == "second"  # the forced read refreshed our cache
        finally:
            reset_settings()


def test_the_extension_refuses_a_read_without_the_session_token(
    monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, sm: Any, secret_id: str
) -> None:
    with SecretsExtensionEmulator(sm, token="not-ours", cache_enabled=False) as emulator:
        _with_extension(monkeypatch, aws_endpoint, emulator)
        try:
            with pytest.raises(DownstreamError) as refused:
                env.read_secret(secret_id)
            assert refused.value.code == "secrets_unavailable" and "HTTP 401" in refused.value.message
            assert emulator.reads == []
        finally:
            reset_settings()


def test_an_unknown_secret_is_a_downstream_error_naming_no_value(
    monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, sm: Any
) -> None:
    with SecretsExtensionEmulator(sm, token=TOKEN, cache_enabled=False) as emulator:
        _with_extension(monkeypatch, aws_endpoint, emulator)
        try:
            with pytest.raises(DownstreamError) as missing:
                env.read_secret("idp/test/no-such-secret")
            assert missing.value.code == "secrets_unavailable"
        finally:
            reset_settings()


def test_the_emulator_caches_like_the_extension_for_its_ttl(sm: Any, secret_id: str) -> None:
    import urllib.request

    now = [0.0]
    with SecretsExtensionEmulator(sm, token=TOKEN, ttl_seconds=300, clock=lambda: now[0]) as emulator:

        def get() -> bytes:
            url = f"{emulator.base_url}/secretsmanager/get?secretId={secret_id}"
            request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
            with urllib.request.urlopen(request, timeout=5) as response:
                return bytes(response.read())

        assert b'"SecretString": "first"' in get()
        sm.put_secret_value(SecretId=secret_id, SecretString="second")
        now[0] = 299.0
        assert b'"first"' in get()  # still cached, as the real extension answers within its TTL
        now[0] = 301.0
        assert b'"second"' in get()
        assert emulator.reads == [secret_id, secret_id]


def test_the_key_set_parses_without_pydantic_as_keyset_validates_it() -> None:
    from idp.auth.keys import KeySet, generate_key

    keyset = KeySet(current=generate_key())
    keys = PublicKeySet.from_secret_string(keyset.to_secret_string())
    assert keys.kids == (keyset.current.kid,)
    assert keys.verification_key(keyset.current.kid).public_key().public_numbers() == (  # type: ignore[union-attr]
        keyset.current.public_key().public_numbers()
    )
    for broken in ('{"previous": []}', '{"current": {"kid": ""}}', '{"current": {"kid": "a"}}', "[]"):
        with pytest.raises(ValueError):
            PublicKeySet.from_secret_string(broken)
    twice = '{"current": {"kid": "a", "public_pem": "x"}, "previous": [{"kid": "a", "public_pem": "y"}]}'
    with pytest.raises(ValueError, match="unique"):
        PublicKeySet.from_secret_string(twice)
