"""Platform tokens: RS256 with a kid, checked against the current and previous keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from idp.auth.keys import KeySet, SigningKey, generate_key
from idp.auth.tokens import issue_token, verify_token
from idp.config import Settings
from idp.errors import Unauthenticated

SETTINGS = Settings(jwt_issuer="idp", jwt_audience="idp-api", jwt_leeway_seconds=30)


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet(current=generate_key())


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": "idp", "aud": "idp-api", "sub": "alice@example.com", "iat": now, "nbf": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(keyset: KeySet, claims: dict[str, Any], *, kid: str | None = None) -> str:
    key = keyset.current
    return jwt.encode(claims, key.private_key(), algorithm="RS256", headers={"kid": kid or key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(keyset: KeySet, token: str, code: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verify_token(SETTINGS, token, keyset=keyset)
    assert caught.value.code == code
    assert not token or token not in caught.value.message
    return caught.value


def test_issued_token_names_its_key_and_verifies(keyset: KeySet) -> None:
    token = issue_token(SETTINGS, subject="alice@example.com", email="alice@example.com", keyset=keyset)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": keyset.current.kid}
    claims = verify_token(SETTINGS, token, keyset=keyset)
    assert claims.sub == "alice@example.com" and claims.email == "alice@example.com"
    assert claims.exp - claims.iat == SETTINGS.jwt_ttl_seconds == 900


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"exp": int(time.time()) - 120}, "token_expired"),
        ({"nbf": int(time.time()) + 600}, "token_not_yet_valid"),
        ({"aud": "someone-else"}, "token_wrong_audience"),
        ({"iss": "https://evil.example.com"}, "token_wrong_issuer"),
        ({"exp": None}, "token_invalid"),
        ({"nbf": None}, "token_invalid"),
    ],
)
def test_claims_are_checked(keyset: KeySet, overrides: dict[str, Any], code: str) -> None:
    _refused(keyset, _sign(keyset, _claims(**overrides)), code)


def test_leeway_tolerates_small_clock_skew(keyset: KeySet) -> None:
    verify_token(SETTINGS, _sign(keyset, _claims(nbf=int(time.time()) + 10)), keyset=keyset)


def test_alg_none_is_refused(keyset: KeySet) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": keyset.current.kid}).encode())
    _refused(keyset, f"{header}.{_b64(json.dumps(_claims()).encode())}.", "token_bad_algorithm")


def test_hs256_macced_with_the_public_key_is_refused(keyset: KeySet) -> None:
    public_pem = keyset.current.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keyset.current.kid}).encode())
    signing_input = f"{header}.{_b64(json.dumps(_claims()).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    _refused(keyset, f"{signing_input}.{_b64(mac)}", "token_bad_algorithm")


def test_tampered_token_is_refused(keyset: KeySet) -> None:
    header, _, signature = _sign(keyset, _claims()).split(".")
    forged = _b64(json.dumps(_claims(sub="platform-admin@example.com")).encode())
    _refused(keyset, f"{header}.{forged}.{signature}", "token_bad_signature")


def test_unknown_or_missing_kid_is_refused(keyset: KeySet) -> None:
    _refused(keyset, _sign(keyset, _claims(), kid="made-up"), "token_unknown_key")
    no_kid = jwt.encode(_claims(), keyset.current.private_key(), algorithm="RS256")
    _refused(keyset, no_kid, "token_unknown_key")


def test_a_token_of_another_key_with_a_known_kid_is_refused(keyset: KeySet) -> None:
    other = KeySet(current=SigningKey(kid=keyset.current.kid, private_pem=generate_key().private_pem))
    _refused(keyset, _sign(other, _claims()), "token_bad_signature")


def test_malformed_tokens_are_refused(keyset: KeySet) -> None:
    for token in ("", "not-a-jwt", "a.b.c", "x" * 10_000):
        _refused(keyset, token, "token_invalid")


def test_previous_keys_still_verify(keyset: KeySet) -> None:
    old_token = issue_token(SETTINGS, subject="alice@example.com", keyset=keyset)
    public_pem = (
        keyset.current.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rotated = KeySet(current=generate_key(), previous=[SigningKey(kid=keyset.current.kid, public_pem=public_pem)])
    assert verify_token(SETTINGS, old_token, keyset=rotated).sub == "alice@example.com"
    new_token = issue_token(SETTINGS, subject="bob@example.com", keyset=rotated)
    assert jwt.get_unverified_header(new_token)["kid"] == rotated.current.kid
    _refused(keyset, new_token, "token_unknown_key")  # the old set does not know the new key


def test_the_private_key_is_not_in_reprs(keyset: KeySet) -> None:
    pem = keyset.current.private_pem.get_secret_value()
    assert pem not in repr(keyset) and pem not in str(keyset.model_dump())
