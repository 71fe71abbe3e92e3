"""The signing key set as a verifier sees it: kid -> RSA public key, read without pydantic.

The same secret as `idp.auth.keys` (JWT_KEYS_SECRET_ID, through `idp.env.read_secret`, so the
two share one cached read), kept only to verify: each key's public half, its `public_pem` or,
for the current key, derived from its `private_pem`, parsed once per key. `idp.auth.keys` (pydantic
models, key generation, rotation, the JWKS) serves the auth function and the operator; this
module keeps pydantic, half the authorizer's floor again (README, "Cold starts"), off its path.

The current key's public half is derived with `unsafe_skip_rsa_key_validation=True`: the check
it skips (the private numbers' consistency, ~35 ms a key here) guards signing, and nothing here
signs; a corrupt key can only make verification fail.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from idp.env import read_secret
from idp.errors import DownstreamError

__all__ = ["KeySettings", "ParsedKeySecret", "PublicKey", "PublicKeySet", "load_public_keys"]

K = TypeVar("K")


class KeySettings(Protocol):
    @property
    def jwt_keys_secret_id(self) -> str | None: ...


class PublicKey:
    """One key of the set, by kid; its `cryptography` public key parsed on first use."""

    __slots__ = ("_key", "_pem", "_private", "kid")

    def __init__(self, kid: str, pem: str, *, private: bool) -> None:
        self.kid, self._pem, self._private = kid, pem, private
        self._key: Any = None

    def public_key(self) -> Any:
        if self._key is None:
            from cryptography.hazmat.primitives import serialization

            if self._private:
                private = serialization.load_pem_private_key(
                    self._pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
                )
                self._key = private.public_key()
            else:
                self._key = serialization.load_pem_public_key(self._pem.encode())
        return self._key

    def __repr__(self) -> str:  # never the PEM
        return f"PublicKey(kid={self.kid!r})"


class PublicKeySet:
    """The current and previous keys, by kid."""

    def __init__(self, keys: Mapping[str, PublicKey]) -> None:
        self._keys = dict(keys)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def verification_key(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    @classmethod
    def from_secret_string(cls, raw: str) -> PublicKeySet:
        """The set from the secret's JSON (idp.auth.keys.KeySet's shape); ValueError when it is not that."""
        value = json.loads(raw)
        if not isinstance(value, dict) or not isinstance(value.get("current"), dict):
            raise ValueError("the key set needs a current key")
        previous = value.get("previous") or []
        if not isinstance(previous, list):
            raise ValueError("previous keys must be a list")
        keys: dict[str, PublicKey] = {}
        for entry in (value["current"], *previous):
            key = _key(entry)
            if key.kid in keys:
                raise ValueError("signing key ids must be unique")
            keys[key.kid] = key
        return cls(keys)


def _key(entry: Any) -> PublicKey:
    if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
        raise ValueError("every signing key needs a kid")
    if isinstance(entry.get("public_pem"), str) and entry["public_pem"]:
        return PublicKey(entry["kid"], entry["public_pem"], private=False)
    if isinstance(entry.get("private_pem"), str) and entry["private_pem"]:
        return PublicKey(entry["kid"], entry["private_pem"], private=True)
    raise ValueError("every signing key needs a private_pem or a public_pem")


class ParsedKeySecret(Generic[K]):
    """The signing-key secret parsed once per value: `read_secret` caches the text, this the parse.

    Shared by the verifier (`PublicKeySet`, no pydantic: the authorizer's path) and the signer
    (`idp.auth.keys.KeySet`)."""

    def __init__(self, parse: Callable[[str], K]) -> None:
        self._parse = parse
        self._last: tuple[str, K] | None = None
        self._lock = threading.Lock()

    def load(self, secret_id: str | None, *, force: bool = False) -> K:
        """The key set named by `JWT_KEYS_SECRET_ID` (`force` re-reads the secret)."""
        if not secret_id:
            raise RuntimeError("JWT_KEYS_SECRET_ID is not configured")
        try:
            raw = read_secret(secret_id, force=force)
        except DownstreamError as exc:
            raise DownstreamError("the platform signing keys are unavailable", code="signing_keys_unavailable") from exc
        with self._lock:
            if self._last is not None and self._last[0] == raw:
                return self._last[1]
            try:
                parsed = self._parse(raw)
            except ValueError:
                # Never echo the secret (parsers' errors may quote the input): name the problem only.
                raise RuntimeError(f"the signing key secret {secret_id} is malformed") from None
            self._last = (raw, parsed)
            return parsed


_public_keys = ParsedKeySecret(lambda raw: PublicKeySet.from_secret_string(raw))


def load_public_keys(settings: KeySettings, *, force: bool = False) -> PublicKeySet:
    """The key set named by `JWT_KEYS_SECRET_ID` (cached by `read_secret`; `force` re-reads it)."""
    return _public_keys.load(settings.jwt_keys_secret_id, force=force)
