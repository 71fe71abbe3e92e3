"""OidcVerifier against the local OIDC issuer over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import RSAAlgorithm

from idp.clients.oidc import OidcIdentity, OidcVerifier
from idp.errors import DownstreamError, Unauthenticated
from idp_local.emulators.oidc import OidcIssuer

AUDIENCE = "idp"


class CountingIssuer(OidcIssuer):
    """Counts how often the JWKS was served."""

    jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        self.jwks_fetches += 1
        return super().jwks()


@pytest.fixture(scope="module")
def shared_issuer() -> Iterator[CountingIssuer]:
    with CountingIssuer() as issuer:
        yield issuer


@pytest.fixture
def issuer() -> Iterator[CountingIssuer]:
    """A fresh issuer, for tests that rotate or remove keys."""
    with CountingIssuer() as issuer:
        yield issuer


def _verifier(issuer: OidcIssuer, **kwargs: Any) -> OidcVerifier:
    return OidcVerifier(issuer.url, AUDIENCE, **kwargs)


def _refused(verifier: OidcVerifier, token: str, code: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    assert caught.value.code == code, caught.value.message
    if token:
        assert token not in str(caught.value) and token not in json.dumps(caught.value.to_body())
    return caught.value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def _claims(issuer: OidcIssuer, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer.url, "sub": "mallory", "aud": AUDIENCE, "iat": now, "exp": now + 600, **overrides}


def test_valid_token_gives_the_identity(shared_issuer: OidcIssuer) -> None:
    token = shared_issuer.issue("user-1", email="alice@example.com", name="Alice", extra={"groups": ["dev"]})

    identity = _verifier(shared_issuer).verify(token)

    assert isinstance(identity, OidcIdentity)
    assert (identity.subject, identity.email, identity.email_verified) == ("user-1", "alice@example.com", True)
    assert (identity.name, identity.issuer) == ("Alice", shared_issuer.url)
    assert identity.claims["groups"] == ["dev"]


def test_audience_may_be_one_of_several(shared_issuer: OidcIssuer) -> None:
    token = shared_issuer.issue("user-1", audience="idp-cli")

    assert OidcVerifier(shared_issuer.url, ["idp", "idp-cli"]).verify(token).email is None


@pytest.mark.parametrize(
    ("issue_kwargs", "code"),
    [
        ({"ttl_seconds": -3600}, "token_expired"),
        ({"extra": {"nbf": int(time.time()) + 3600}}, "token_not_yet_valid"),
        ({"audience": "someone-else"}, "token_wrong_audience"),
        ({"extra": {"iss": "https://evil.example.com"}}, "token_wrong_issuer"),
        ({"extra": {"iat": None}}, "token_invalid"),
    ],
    ids=["expired", "not-yet-valid", "wrong-audience", "wrong-issuer", "no-iat"],
)
def test_bad_claims_are_refused(shared_issuer: OidcIssuer, issue_kwargs: dict[str, Any], code: str) -> None:
    _refused(_verifier(shared_issuer), shared_issuer.issue("user-1", **issue_kwargs), code)


def test_small_clock_skew_is_tolerated(shared_issuer: OidcIssuer) -> None:
    token = shared_issuer.issue("user-1", ttl_seconds=-10)

    assert _verifier(shared_issuer, leeway_seconds=60).verify(token).subject == "user-1"
    _refused(_verifier(shared_issuer, leeway_seconds=0), token, "token_expired")


def test_alg_none_is_refused(shared_issuer: OidcIssuer) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": shared_issuer.current_kid}
    token = f"{_segment(header)}.{_segment(_claims(shared_issuer))}."

    _refused(_verifier(shared_issuer), token, "token_bad_algorithm")


def test_hs256_signed_with_the_public_key_is_refused(shared_issuer: OidcIssuer) -> None:
    """HS/RS confusion: the attacker MACs a token with the issuer's published RSA key."""
    jwk = requests.get(f"{shared_issuer.url}/jwks", timeout=5).json()["keys"][0]
    pem = RSAAlgorithm.from_jwk(jwk).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': jwk['kid']})}.{_segment(_claims(shared_issuer))}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()

    _refused(_verifier(shared_issuer), f"{signing_input}.{_b64(mac)}", "token_bad_algorithm")
    with pytest.raises(ValueError, match="asymmetric"):
        OidcVerifier(shared_issuer.url, AUDIENCE, algorithms=("RS256", "HS256"))


def test_algorithm_must_match_the_key_type(shared_issuer: OidcIssuer) -> None:
    """An ES256 token naming the issuer's RSA key is refused before any signature check."""
    token = jwt.encode(
        _claims(shared_issuer),
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": shared_issuer.current_kid},
    )

    _refused(_verifier(shared_issuer), token, "token_bad_algorithm")


def test_tampered_payload_is_refused(shared_issuer: OidcIssuer) -> None:
    header, _, signature = shared_issuer.issue("user-1").split(".")
    forged = f"{header}.{_segment(_claims(shared_issuer, sub='admin'))}.{signature}"

    _refused(_verifier(shared_issuer), forged, "token_bad_signature")


def test_garbage_is_refused(shared_issuer: OidcIssuer) -> None:
    _refused(_verifier(shared_issuer), "not-a-jwt", "token_invalid")
    _refused(_verifier(shared_issuer), "", "token_invalid")


def test_unknown_kids_refresh_the_jwks_a_bounded_number_of_times(issuer: CountingIssuer) -> None:
    verifier = _verifier(issuer)
    assert verifier.verify(issuer.issue("user-1")).subject == "user-1"
    assert issuer.jwks_fetches == 1

    for n in range(20):
        _refused(verifier, issuer.issue("user-1", headers={"kid": f"made-up-{n}"}), "token_unknown_key")

    assert issuer.jwks_fetches == 1


def test_a_new_key_is_picked_up_once_the_refresh_interval_has_passed(issuer: CountingIssuer) -> None:
    verifier = _verifier(issuer, jwks_refresh_min_interval=0.3)
    verifier.verify(issuer.issue("user-1"))
    issuer.rotate_key()
    token = issuer.issue("user-1")

    _refused(verifier, token, "token_unknown_key")  # too soon after the last fetch
    time.sleep(0.35)

    assert verifier.verify(token).subject == "user-1"
    assert issuer.jwks_fetches == 2


def test_a_token_signed_with_the_previous_key_verifies_after_rotation(issuer: CountingIssuer) -> None:
    verifier = _verifier(issuer)
    old_token = issuer.issue("user-1")
    verifier.verify(old_token)

    old_kid = issuer.current_kid
    assert issuer.rotate_key() != old_kid

    assert verifier.verify(old_token).subject == "user-1"
    assert _verifier(issuer).verify(old_token).subject == "user-1"  # fresh JWKS still has the old key
    assert _verifier(issuer).verify(issuer.issue("user-2")).subject == "user-2"

    issuer.remove_key(old_kid)
    _refused(_verifier(issuer), old_token, "token_unknown_key")


def test_issuer_down_is_a_downstream_error() -> None:
    issuer = OidcIssuer().start()
    token = issuer.issue("user-1")
    issuer.stop()

    with pytest.raises(DownstreamError) as caught:
        _verifier(issuer, http_timeout=1).verify(token)
    assert caught.value.code == "oidc_unavailable"


def test_discovery_naming_another_issuer_is_refused(shared_issuer: OidcIssuer) -> None:
    lookalike = shared_issuer.url.replace("127.0.0.1", "localhost")

    with pytest.raises(DownstreamError) as caught:
        OidcVerifier(lookalike, AUDIENCE).verify(shared_issuer.issue("user-1"))
    assert caught.value.code == "oidc_issuer_mismatch"


def test_importing_the_module_does_not_import_jwt_or_requests() -> None:
    code = "import sys, idp.clients.oidc; print(sorted({'jwt', 'requests'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_cached_keys_keep_working_when_a_periodic_refresh_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = OidcIssuer().start()
    verifier = _verifier(issuer, jwks_refresh_min_interval=0)
    token = issuer.issue("user-1")
    verifier.verify(token)
    issuer.stop()
    monkeypatch.setattr("idp.clients.oidc._JWKS_MAX_AGE_SECONDS", 0.0)

    assert verifier.verify(token).subject == "user-1"
