"""The RS256 signing keys of platform tokens, kept as one Secrets Manager secret.

The secret's value is JSON::

    {"current": {"kid": "...", "private_pem": "..."},
     "previous": [{"kid": "...", "public_pem": "...", "retired_at": "2026-01-01T00:00:00+00:00"}]}

New tokens are signed with `current`; tokens signed with a `previous` key keep verifying
until `rotate_keys` drops that key, which it does only once the longest-lived token it
could have signed has expired. Retired keys keep only their public half.

The secret is read through `idp.config.read_secret` (cached for five minutes), so a
container may go on signing with the old current key for up to that long after a rotation.
A token naming a key the cached set lacks makes the verifier re-read the secret (at most once
a minute, `idp.auth.tokens`), so tokens of a new key verify everywhere within a minute.

`cryptography` and `jwt` are imported lazily, and the Secrets Manager writes (operators'
`ensure_keys`, `rotate_keys`) live in `idp.clients.secrets`. The authorizer does not import this
module at all: it verifies with `idp.auth.public_keys`, which reads the same secret without pydantic.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from idp.auth.public_keys import ParsedKeySecret
from idp.clients import secrets
from idp.config import Settings

__all__ = [
    "KeySet",
    "SigningKey",
    "ensure_keys",
    "generate_key",
    "jwks",
    "load_keyset",
    "rotate_keys",
]

_ALGORITHM = "RS256"
_KEY_SIZE = 2048
_CODE = "signing_keys_unavailable"


class SigningKey(BaseModel):
    """One key of the set: the current one has its private half, retired ones may have only the public."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    kid: str = Field(min_length=1)
    private_pem: SecretStr | None = None
    public_pem: str | None = None
    retired_at: datetime | None = None

    @model_validator(mode="after")
    def _has_a_key(self) -> SigningKey:
        if self.private_pem is None and not self.public_pem:
            raise ValueError(f"signing key {self.kid!r} has neither private_pem nor public_pem")
        return self

    def public_key(self) -> Any:
        """The `cryptography` RSA public key (parsed once per key)."""
        cached = _parsed_public.get(self.kid)
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        from cryptography.hazmat.primitives import serialization

        if self.public_pem:
            key = serialization.load_pem_public_key(self.public_pem.encode())
        else:
            key = self.private_key().public_key()
        _parsed_public[self.kid] = (self._fingerprint(), key)
        return key

    def private_key(self) -> Any:
        """The `cryptography` RSA private key (parsed once per key)."""
        if self.private_pem is None:
            raise RuntimeError(f"signing key {self.kid} has no private half")
        cached = _parsed_private.get(self.kid)
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(self.private_pem.get_secret_value().encode(), password=None)
        _parsed_private[self.kid] = (self._fingerprint(), key)
        return key

    def _fingerprint(self) -> int:
        secret = self.private_pem.get_secret_value() if self.private_pem else ""
        return hash((secret, self.public_pem or ""))

    def stored(self) -> dict[str, Any]:
        """The JSON form kept in the secret."""
        value: dict[str, Any] = {"kid": self.kid}
        if self.private_pem is not None:
            value["private_pem"] = self.private_pem.get_secret_value()
        if self.public_pem:
            value["public_pem"] = self.public_pem
        if self.retired_at is not None:
            value["retired_at"] = self.retired_at.isoformat()
        return value


class KeySet(BaseModel):
    """The signing key (`current`, with its private half) and the retired keys that still verify."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    current: SigningKey
    previous: list[SigningKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _current_can_sign(self) -> KeySet:
        if self.current.private_pem is None:
            raise ValueError("the current signing key needs its private_pem")
        kids = [self.current.kid, *(k.kid for k in self.previous)]
        if len(set(kids)) != len(kids):
            raise ValueError("signing key ids must be unique")
        return self

    def verification_key(self, kid: str) -> SigningKey | None:
        """The key named `kid` among the current and previous ones."""
        return next((k for k in (self.current, *self.previous) if k.kid == kid), None)

    def to_secret_string(self) -> str:
        return json.dumps({"current": self.current.stored(), "previous": [k.stored() for k in self.previous]})


# Parsed `cryptography` keys by kid (with a fingerprint of their PEM): parsing an RSA key
# costs milliseconds, and the authorizer verifies on every uncached request.
_parsed_public: dict[str, tuple[int, Any]] = {}
_parsed_private: dict[str, tuple[int, Any]] = {}
_keyset = ParsedKeySecret(KeySet.model_validate_json)


def load_keyset(settings: Settings, *, force: bool = False) -> KeySet:
    """The key set named by `JWT_KEYS_SECRET_ID` (cached by `read_secret`; `force` re-reads it)."""
    return _keyset.load(settings.jwt_keys_secret_id, force=force)


def generate_key() -> SigningKey:
    """A new 2048-bit RSA key with a random kid."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + uuid.uuid4().hex[:12]
    return SigningKey(kid=kid, private_pem=SecretStr(pem))


def _public_pem(key: SigningKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def ensure_keys(client: Any, secret_id: str) -> bool:
    """Creates the key set secret with a fresh key if it does not exist; True when it did so.

    `client` is a boto3 Secrets Manager client (`make dev` and the tests pass one for moto).
    """
    return secrets.create_if_missing(
        client,
        secret_id,
        KeySet(current=generate_key()).to_secret_string(),
        description="RS256 signing keys of the IDP's platform tokens",
        code=_CODE,
    )


def rotate_keys(client: Any, secret_id: str, *, retain_seconds: int | None = None) -> KeySet:
    """Makes a new current key; the old one moves to `previous` (public half only).

    Previous keys retired more than `retain_seconds` ago (default: the token lifetime plus
    the leeway, the longest a token they signed can still be valid) are dropped.
    """
    if retain_seconds is None:
        from idp.config import get_settings

        settings = get_settings()
        retain_seconds = settings.jwt_ttl_seconds + settings.jwt_leeway_seconds
    raw = secrets.get_string(client, secret_id, code=_CODE)
    try:
        old = KeySet.model_validate_json(raw)
    except ValueError:
        raise RuntimeError(f"the signing key secret {secret_id} is malformed") from None
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=retain_seconds)
    retired = SigningKey(kid=old.current.kid, public_pem=_public_pem(old.current), retired_at=now)
    kept = [k for k in old.previous if k.retired_at is None or k.retired_at > cutoff]
    keyset = KeySet(current=generate_key(), previous=[retired, *kept])
    secrets.put_string(client, secret_id, keyset.to_secret_string(), code=_CODE)
    return keyset


def jwks(keyset: KeySet) -> dict[str, Any]:
    """The public keys as a JSON Web Key Set: the current one first, then the retired ones."""
    from jwt.algorithms import RSAAlgorithm

    return {
        "keys": [
            {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": key.kid, "use": "sig", "alg": _ALGORITHM}
            for key in (keyset.current, *keyset.previous)
        ]
    }
