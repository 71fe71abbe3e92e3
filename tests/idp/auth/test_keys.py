"""The signing key set in Secrets Manager (moto's server over HTTP): create, rotate, publish."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from idp.auth.keys import KeySet, SigningKey, ensure_keys, generate_key, jwks, load_keyset, rotate_keys
from idp.config import Settings, reset_settings
from idp.errors import Unauthenticated


@pytest.fixture
def client(aws_endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=aws_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def secret_id() -> str:
    return f"idp/test/keys-{uuid.uuid4().hex[:8]}"


def _stored(client: Any, secret_id: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"]))


def test_ensure_keys_creates_the_secret_once(client: Any, secret_id: str) -> None:
    assert ensure_keys(client, secret_id) is True
    first = _stored(client, secret_id)
    assert ensure_keys(client, secret_id) is False
    assert _stored(client, secret_id) == first
    assert first["previous"] == []
    assert first["current"]["kid"] and first["current"]["private_pem"].startswith("-----BEGIN PRIVATE KEY-----")


def test_rotation_keeps_the_old_public_key_and_publishes_both(client: Any, secret_id: str) -> None:
    ensure_keys(client, secret_id)
    old_kid = _stored(client, secret_id)["current"]["kid"]
    rotated = rotate_keys(client, secret_id, retain_seconds=3600)
    stored = _stored(client, secret_id)
    assert stored["current"]["kid"] == rotated.current.kid != old_kid
    (previous,) = stored["previous"]
    assert previous["kid"] == old_kid and "private_pem" not in previous  # retired keys keep only their public half
    assert previous["public_pem"].startswith("-----BEGIN PUBLIC KEY-----") and previous["retired_at"]

    published = jwks(rotated)["keys"]
    assert [k["kid"] for k in published] == [rotated.current.kid, old_kid]
    for key in published:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert "d" not in key and "p" not in key  # public halves only


def test_rotation_drops_keys_retired_longer_than_a_token_lives(client: Any, secret_id: str) -> None:
    ensure_keys(client, secret_id)
    keyset = KeySet.model_validate_json(client.get_secret_value(SecretId=secret_id)["SecretString"])
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    stale = SigningKey(kid="stale", public_pem=jwks_pem(keyset), retired_at=long_ago)
    client.put_secret_value(
        SecretId=secret_id, SecretString=KeySet(current=keyset.current, previous=[stale]).to_secret_string()
    )
    rotated = rotate_keys(client, secret_id, retain_seconds=900)
    assert [k.kid for k in rotated.previous] == [keyset.current.kid]


def jwks_pem(keyset: KeySet) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        keyset.current.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_load_keyset_reads_the_secret_and_names_no_secret_when_malformed(
    client: Any, secret_id: str, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        ensure_keys(client, secret_id)
        keyset = load_keyset(Settings(jwt_keys_secret_id=secret_id))
        assert keyset.current.kid == _stored(client, secret_id)["current"]["kid"]

        broken = f"idp/test/broken-{uuid.uuid4().hex[:8]}"
        client.create_secret(Name=broken, SecretString='{"current": {"kid": "k", "public_pem": "hunter2"}}')
        with pytest.raises(RuntimeError) as caught:
            load_keyset(Settings(jwt_keys_secret_id=broken))
        assert "malformed" in str(caught.value) and "hunter2" not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    finally:
        reset_settings()


def test_load_keyset_needs_the_setting() -> None:
    with pytest.raises(RuntimeError, match="JWT_KEYS_SECRET_ID"):
        load_keyset(Settings(jwt_keys_secret_id=None))


def test_a_key_rotated_in_after_the_cached_read_is_picked_up(
    client: Any, secret_id: str, platform_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another container rotated the keys; ours still holds the old secret in its 5-minute cache."""
    from idp.auth import tokens
    from idp.config import get_settings

    monkeypatch.setenv("JWT_KEYS_SECRET_ID", secret_id)
    reset_settings()
    ensure_keys(client, secret_id)
    settings = get_settings()
    load_keyset(settings)  # cached now
    rotate_keys(client, secret_id, retain_seconds=3600)
    new_keys = KeySet.model_validate(_stored(client, secret_id))
    token = tokens.issue_token(settings, subject="alice@example.com", keyset=new_keys)

    monkeypatch.setattr(tokens, "_last_key_refresh", 0.0)
    assert tokens.verify_token(settings, token).sub == "alice@example.com"
    # A made-up kid right after is refused without another read (at most one a minute).
    made_up = tokens.issue_token(settings, subject="x", keyset=KeySet(current=generate_key()))
    with pytest.raises(Unauthenticated) as refused:
        tokens.verify_token(settings, made_up)
    assert refused.value.code == "token_unknown_key"
