"""The local OIDC issuer: discovery, JWKS, keys and the device authorization grant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from idp.clients.oidc import OidcVerifier
from idp_local.emulators.oidc import DEVICE_CODE_GRANT, OidcIssuer

CLIENT_ID = "idp-cli"


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as issuer:
        yield issuer


def _start_device_flow(issuer: OidcIssuer) -> dict[str, Any]:
    response = requests.post(
        f"{issuer.url}/device/authorize", data={"client_id": CLIENT_ID, "scope": "openid email"}, timeout=5
    )
    assert response.status_code == 200
    return response.json()


def _poll(issuer: OidcIssuer, device_code: str) -> requests.Response:
    form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": CLIENT_ID}
    return requests.post(f"{issuer.url}/token", data=form, timeout=5)


def test_discovery_document(issuer: OidcIssuer) -> None:
    document = requests.get(f"{issuer.url}/.well-known/openid-configuration", timeout=5).json()

    assert document["issuer"] == issuer.url
    for endpoint in ("jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        assert document[endpoint].startswith(issuer.url)
    assert document["device_authorization_endpoint"] == f"{issuer.url}/device/authorize"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert DEVICE_CODE_GRANT in document["grant_types_supported"]

    keys = requests.get(document["jwks_uri"], timeout=5).json()["keys"]
    assert [key["kid"] for key in keys] == [issuer.current_kid]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_device_flow_is_pending_until_approved_then_gives_tokens(issuer: OidcIssuer) -> None:
    grant = _start_device_flow(issuer)
    assert grant["verification_uri"] == f"{issuer.url}/device"
    assert grant["user_code"] in grant["verification_uri_complete"]
    assert grant["expires_in"] > 0 and grant["interval"] >= 1

    pending = _poll(issuer, grant["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"

    approved = requests.get(grant["verification_uri_complete"], params={"user": "alice@example.com"}, timeout=5)
    assert approved.status_code == 200 and "alice@example.com" in approved.text

    tokens = _poll(issuer, grant["device_code"])
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0

    identity = OidcVerifier(issuer.url, CLIENT_ID).verify(body["id_token"])
    assert (identity.subject, identity.email, identity.email_verified) == ("alice@example.com",) * 2 + (True,)
    assert OidcVerifier(issuer.url, issuer.audience).verify(body["access_token"]).subject == "alice@example.com"

    userinfo = requests.get(
        f"{issuer.url}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5
    )
    assert userinfo.json()["email"] == "alice@example.com"

    assert _poll(issuer, grant["device_code"]).json()["error"] == "invalid_grant"  # a device code is used once


def test_device_page_without_a_user_shows_a_form(issuer: OidcIssuer) -> None:
    grant = _start_device_flow(issuer)

    page = requests.get(grant["verification_uri_complete"], timeout=5)

    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "name='user'" in page.text and grant["user_code"] in page.text
    assert _poll(issuer, grant["device_code"]).json()["error"] == "authorization_pending"


def test_denied_device_gets_access_denied(issuer: OidcIssuer) -> None:
    grant = _start_device_flow(issuer)

    requests.get(f"{issuer.url}/device", params={"user_code": grant["user_code"], "deny": "1"}, timeout=5)

    assert _poll(issuer, grant["device_code"]).json()["error"] == "access_denied"


def test_token_endpoint_refuses_other_grants_and_unknown_codes(issuer: OidcIssuer) -> None:
    other = requests.post(f"{issuer.url}/token", data={"grant_type": "password"}, timeout=5)
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
    assert _poll(issuer, "nope").json()["error"] == "invalid_grant"
    missing_client = requests.post(f"{issuer.url}/device/authorize", data={}, timeout=5)
    assert missing_client.status_code == 400


def test_rotate_and_remove_keys() -> None:
    issuer = OidcIssuer()
    first = issuer.current_kid
    second = issuer.rotate_key()

    assert {key["kid"] for key in issuer.jwks()["keys"]} == {first, second}
    issuer.remove_key(second)
    assert issuer.current_kid == first
    with pytest.raises(ValueError, match="only key"):
        issuer.remove_key(first)
