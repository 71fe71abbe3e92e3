"""The auth function end to end: sign-in at a local OIDC issuer, the platform tokens it hands
out checked by the authorizer through the local API Gateway, the JWKS, and key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from idp.auth.keys import KeySet, ensure_keys, load_keyset, rotate_keys
from idp.config import get_settings, reset_settings
from idp.db import Database

ALICE = "alice@example.com"
AUDIENCE = "idp-test-client"  # tests/conftest.py's TEST_OIDC_AUDIENCE


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _id_token(issuer: Any, user: str = ALICE, **kwargs: Any) -> str:
    kwargs.setdefault("audience", AUDIENCE)
    return str(issuer.issue(f"oidc|{user}", email=user, name=kwargs.pop("name", "Alice Liddell"), **kwargs))


def _sign_in(api: Any, id_token: str, *, as_header: bool = False) -> requests.Response:
    if as_header:
        return api.call("POST", "/auth/token", user=None, headers={"Authorization": f"Bearer {id_token}"})
    return api.call("POST", "/auth/token", user=None, json={"id_token": id_token})


def _me(api: Any, token: str) -> requests.Response:
    return api.call("GET", "/auth/me", user=None, headers={"Authorization": f"Bearer {token}"})


def _keyset() -> KeySet:
    return load_keyset(get_settings())


def _claims(**overrides: Any) -> dict[str, Any]:
    settings = get_settings()
    now = int(time.time())
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": ALICE, "email": ALICE}
    claims.update(iat=now, nbf=now, exp=now + 600, kind="user", platform_admin=False)
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], *, kid: str | None = None) -> str:
    key = _keyset().current
    return jwt.encode(claims, key.private_key(), algorithm="RS256", headers={"kid": kid or key.kid})


# ------------------------------------------------------------------------------ sign-in


def test_sign_in_creates_the_user_then_updates_it(api: Any, db: Database, oidc_issuer: Any) -> None:
    response = _sign_in(api, _id_token(oidc_issuer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert jwt.get_unverified_header(body["access_token"])["kid"] == _keyset().current.kid

    (user,) = db.rows("SELECT id, email, name, oidc_issuer, oidc_subject, created_at, last_login_at FROM users")
    assert user["id"] == ALICE and user["email"] == ALICE and user["name"] == "Alice Liddell"
    assert (user["oidc_issuer"], user["oidc_subject"]) == (oidc_issuer.url, f"oidc|{ALICE}")

    again = _sign_in(api, _id_token(oidc_issuer, name="Alice L."), as_header=True)
    assert again.status_code == 200, again.text
    (later,) = db.rows("SELECT name, created_at, last_login_at FROM users")
    assert later["name"] == "Alice L." and later["created_at"] == user["created_at"]
    assert later["last_login_at"] > user["last_login_at"]


def test_me_shows_the_caller_and_their_tenants(api: Any, oidc_issuer: Any) -> None:
    token = _sign_in(api, _id_token(oidc_issuer)).json()["access_token"]
    assert api.call("POST", "/tenants", json={"name": "payments", "display_name": "Payments"}).status_code == 201
    assert api.call("POST", "/tenants", json={"name": "search", "display_name": "Search"}, user="bob@example.com")
    added = api.call("POST", "/tenants/search/members", user="bob@example.com", json={"user": ALICE, "role": "viewer"})
    assert added.status_code == 201, added.text

    me = _me(api, token)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "user_id": ALICE,
        "kind": "user",
        "email": ALICE,
        "name": "Alice Liddell",
        "platform_admin": False,
        "tenants": [{"name": "payments", "role": "owner"}, {"name": "search", "role": "viewer"}],
    }
    assert api.call("DELETE", "/tenants/payments").status_code == 200
    assert _me(api, token).json()["tenants"] == [{"name": "search", "role": "viewer"}]


def test_platform_admins_are_told_so(api: Any, oidc_issuer: Any) -> None:
    token = _sign_in(api, _id_token(oidc_issuer, "platform-admin@example.com")).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["platform_admin"] is True
    assert _me(api, token).json()["platform_admin"] is True


def test_unverified_email_is_refused(api: Any, db: Database, oidc_issuer: Any) -> None:
    response = _sign_in(api, _id_token(oidc_issuer, extra={"email_verified": False}))
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "email_not_verified" and "verified e-mail" in error["message"]
    no_email = oidc_issuer.issue("oidc|nobody", audience=AUDIENCE)
    assert _sign_in(api, no_email).json()["error"]["code"] == "email_not_verified"
    assert db.rows("SELECT id FROM users") == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"audience": "another-client"}, "token_wrong_audience"),
        ({"ttl_seconds": -600}, "token_expired"),
        ({"headers": {"kid": "made-up"}}, "token_unknown_key"),
    ],
)
def test_bad_oidc_tokens_are_refused(api: Any, oidc_issuer: Any, kwargs: dict[str, Any], code: str) -> None:
    response = _sign_in(api, _id_token(oidc_issuer, **kwargs))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code


def test_a_platform_token_is_not_a_sign_in_token(api: Any) -> None:
    response = _sign_in(api, api.token(ALICE))
    assert response.status_code == 401  # our own issuer is not the OIDC issuer


def test_sign_in_needs_a_token(api: Any) -> None:
    missing = api.call("POST", "/auth/token", user=None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "token_missing"
    wrong = api.call("POST", "/auth/token", user=None, json={"token": "x"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "id_token"
    not_json = api.call("POST", "/auth/token", user=None, data="{not json")  # the request screen's answer
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"


# ------------------------------------------------------------------- platform tokens


def _hs256_with_public_key() -> str:
    key = _keyset().current
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid}).encode())}"
    signing_input += f".{_b64(json.dumps(_claims()).encode())}"
    return f"{signing_input}.{_b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"


def _alg_none() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": _keyset().current.kid}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def _tampered() -> str:
    header, _, signature = _sign(_claims()).split(".")
    return f"{header}.{_b64(json.dumps(_claims(platform_admin=True)).encode())}.{signature}"


BAD_TOKENS = {
    "expired": (lambda: _sign(_claims(exp=int(time.time()) - 600)), "token_expired", "expired"),
    "not yet valid": (lambda: _sign(_claims(nbf=int(time.time()) + 600)), "token_not_yet_valid", "not valid yet"),
    "wrong audience": (lambda: _sign(_claims(aud="another-api")), "token_wrong_audience", "audience"),
    "wrong issuer": (lambda: _sign(_claims(iss="https://evil.example.com")), "token_wrong_issuer", "issuer"),
    "alg none": (_alg_none, "token_bad_algorithm", "algorithm"),
    "tampered": (_tampered, "token_bad_signature", "signature"),
    "unknown kid": (lambda: _sign(_claims(), kid="made-up"), "token_unknown_key", "unknown signing key"),
    "HS256 with the public key": (_hs256_with_public_key, "token_bad_algorithm", "algorithm"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_platform_tokens_get_401_with_a_clear_message(api: Any, case: str) -> None:
    make, code, words = BAD_TOKENS[case]
    token = make()
    response = _me(api, token)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert token not in response.text


def test_a_good_platform_token_passes(api: Any) -> None:
    assert _me(api, _sign(_claims())).status_code == 200


# ------------------------------------------------------------------------- rotation


@pytest.fixture
def own_keys(api: Any, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """A key set of the test's own, so rotating it leaves the session's alone."""
    import boto3

    secret_id = f"idp/test/rotation-{time.time_ns()}"
    client = boto3.client("secretsmanager", endpoint_url=aws_endpoint)
    ensure_keys(client, secret_id)
    monkeypatch.setenv("JWT_KEYS_SECRET_ID", secret_id)
    reset_settings()
    yield client, secret_id
    reset_settings()


def test_tokens_of_the_previous_key_work_until_they_expire(api: Any, own_keys: tuple[Any, str]) -> None:
    client, secret_id = own_keys
    before = _sign(_claims())
    old_kid = jwt.get_unverified_header(before)["kid"]
    assert _me(api, before).status_code == 200

    rotated = rotate_keys(client, secret_id)
    reset_settings()  # what the secret cache's expiry does in a deployed container
    after = _sign(_claims(sub="bob@example.com", email="bob@example.com"))
    assert jwt.get_unverified_header(after)["kid"] == rotated.current.kid != old_kid
    assert _me(api, before).status_code == 200, "a token of the previous key must keep working"
    assert _me(api, after).status_code == 200

    published = api.call("GET", "/auth/.well-known/jwks.json", user=None)
    assert published.status_code == 200
    assert [k["kid"] for k in published.json()["keys"]] == [rotated.current.kid, old_kid]
    assert rotated.previous[0].private_pem is None  # the old key verifies but can sign no more


def test_jwks_is_public_and_verifies_issued_tokens(api: Any, oidc_issuer: Any) -> None:
    token = _sign_in(api, _id_token(oidc_issuer)).json()["access_token"]
    published = requests.get(api.base_url + "/auth/.well-known/jwks.json", timeout=10)
    assert published.status_code == 200
    jwk_set = jwt.PyJWKSet.from_dict(published.json())
    key = jwk_set[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=get_settings().jwt_audience)
    assert claims["sub"] == ALICE


# ------------------------------------------------------------------------------ logs


def test_logs_carry_no_token_key_or_secret(api: Any, oidc_issuer: Any, aws_endpoint: str, idp_logs: Any) -> None:
    import boto3

    good_id_token = _id_token(oidc_issuer)
    signed_in = _sign_in(api, good_id_token)
    assert signed_in.status_code == 200
    access_token = signed_in.json()["access_token"]
    assert _me(api, access_token).status_code == 200
    bad_id_token = _id_token(oidc_issuer, extra={"email_verified": False})
    assert _sign_in(api, bad_id_token).status_code == 401
    expired = _sign(_claims(exp=int(time.time()) - 600))
    assert _me(api, expired).status_code == 401
    logs = idp_logs.text()

    assert "signed in" in logs and "sign-in refused" in logs  # the logs were captured
    secret = boto3.client("secretsmanager", endpoint_url=aws_endpoint).get_secret_value(
        SecretId=get_settings().jwt_keys_secret_id
    )["SecretString"]
    keyset = KeySet.model_validate_json(secret)
    private_pem = keyset.current.private_pem.get_secret_value()
    for leaked in (good_id_token, bad_id_token, access_token, expired, secret, private_pem):
        for part in leaked.split("."):
            assert len(part) < 20 or part not in logs
    body = private_pem.splitlines()[1]  # a line of the key itself
    assert body not in logs


def test_sign_ins_are_audited_refusals_too(api: Any, db: Database, oidc_issuer: Any) -> None:
    assert _sign_in(api, _id_token(oidc_issuer)).status_code == 200
    assert _sign_in(api, "not-a-token").status_code == 401
    rows = db.rows("SELECT actor, actor_kind, action, target, outcome, details FROM audit_log ORDER BY id")
    assert [(r["actor"], r["actor_kind"], r["action"], r["outcome"]) for r in rows] == [
        (ALICE, "user", "auth.sign_in", "ok"),
        ("anonymous", "anonymous", "auth.sign_in", "denied"),
    ]
    details = rows[1]["details"]
    assert set(details if isinstance(details, dict) else {}) == {"error_code"}  # why, never the token
