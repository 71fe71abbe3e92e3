"""ServiceAccount tokens issued through TokenRequest: JWT-shaped, HMAC-signed, remembered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["IssuedToken", "TokenBook"]

ISSUER = "https://kubernetes.default.svc.cluster.local"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class IssuedToken:
    namespace: str
    service_account: str
    service_account_uid: str
    audiences: tuple[str, ...]
    expires_at: int
    bound_kind: str | None = None
    bound_name: str | None = None
    bound_uid: str | None = None

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def user_info(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "uid": self.service_account_uid,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{self.namespace}", "system:authenticated"],
        }


class TokenBook:
    """Issued tokens by value; liveness (bound objects still there) is judged by the store."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._issued: dict[str, IssuedToken] = {}

    def clear(self) -> None:
        self._issued.clear()

    def lookup(self, token: str) -> IssuedToken | None:
        return self._issued.get(token)

    def issue(self, record: IssuedToken) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": list(record.audiences),
            "exp": record.expires_at,
            "iat": now,
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {
                "namespace": record.namespace,
                "serviceaccount": {"name": record.service_account, "uid": record.service_account_uid},
            },
            "nbf": now,
            "sub": record.username,
        }
        if record.bound_kind and record.bound_name:
            claims["kubernetes.io"][record.bound_kind.lower()] = {
                "name": record.bound_name,
                "uid": record.bound_uid,
            }
        header = _b64(json.dumps({"alg": "HS256", "kid": "emulator", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{_b64(signature)}"
        self._issued[token] = record
        return token
