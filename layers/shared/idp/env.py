"""The light half of the configuration: a function's variables and its secrets, without pydantic.

`idp.config.Settings` (a pydantic model of every setting) is how functions read their
configuration; importing pydantic and building it costs more than the authorizer's own work on
a cold start (README, "Cold starts"). What `idp.config` and the authorizer share lives here, at
the standard library's price:

- `function_variables` and `variables(names)`: the invoked function's own values of settings. Under
  the local runner, its template variables (`idp.config.function_environment` sets them here), then
  the process environment (names case-insensitive), then the YAML file named by `IDP_CONFIG_FILE`
  (keys are the settings' names).
- `read_secret(secret_id, force=...)`: the one place that decides how a secret is read (re-exported
  as `idp.config.read_secret`). Values are cached for five minutes; `force` reads anew. When the
  function has the AWS Parameters and Secrets Lambda Extension (`secrets_extension()`), the read is
  a local HTTP call to it (`idp.clients.secrets_extension`): no boto3. Otherwise, and for a forced
  read when the extension keeps its own cache, Powertools' SecretsProvider (boto3). The extension
  documents no way to skip its cache for one request (its query parameters are `secretId`,
  `versionId`, `versionStage`; the Secrets Manager Agent's `refreshNow` is not among them), so a
  forced read through a caching extension could return the very value it must replace: the
  template runs the extension with its cache off (PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED
  false), ours being the one cache, and forced reads then go through the extension too.
- `AuthorizerSettings` / `authorizer_settings()`: the five settings the authorizer reads, parsed as
  `idp.config.Settings` parses them (tests/idp/test_env.py holds the two to the same answers).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

from idp.errors import DownstreamError

__all__ = [
    "SECRET_MAX_AGE_SECONDS",
    "AuthorizerSettings",
    "SecretsExtension",
    "authorizer_settings",
    "function_variables",
    "read_secret",
    "reset",
    "secrets_extension",
    "variable",
    "variables",
]

SECRET_MAX_AGE_SECONDS = 300.0
SECRETS_UNAVAILABLE = "secrets_unavailable"

# The variables of the function being invoked (local runner only), as sorted (name, value) pairs.
function_variables: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("idp_function_variables", default=())


def variables(names: Iterable[str]) -> dict[str, Any]:
    """The settings among `names` (field names, e.g. "jwt_issuer") that are set, as the function sees
    them: a string from the function's variables or the environment; from the YAML file, what YAML
    made of it. The YAML file is read at each call: settings are built once per process."""
    wanted = {name.lower() for name in names}
    found: dict[str, Any] = {}
    path = os.environ.get("IDP_CONFIG_FILE")
    for source in (_read_yaml(path) if path else {}, os.environ, dict(function_variables.get())):  # later wins
        for key, value in source.items():
            if key.lower() in wanted:
                found[key.lower()] = value
    return found


def variable(name: str) -> Any:
    """One setting as `variables` finds it; None when unset."""
    return variables([name]).get(name.lower())


def _read_yaml(path: str) -> Mapping[str, Any]:
    import yaml

    loaded = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of setting names to values")
    return {str(k).lower(): v for k, v in loaded.items()}


# -- the authorizer's settings ----------------------------------------------------------------


class AuthorizerSettings(NamedTuple):
    """What verifying a platform token and deciding platform_admin need (the same names and defaults
    as idp.config.Settings). NamedTuples, not dataclasses, on this path: ~0.2 ms to define, not ~1."""

    jwt_issuer: str = "idp"
    jwt_audience: str = "idp-api"
    jwt_leeway_seconds: int = 30
    jwt_keys_secret_id: str | None = None
    platform_admins: tuple[str, ...] = ()


def authorizer_settings() -> AuthorizerSettings:
    """The authorizer's settings, built once per process (per function environment under the local runner)."""
    return _authorizer_settings(function_variables.get())


@functools.lru_cache(maxsize=64)
def _authorizer_settings(_variables: tuple[tuple[str, str], ...]) -> AuthorizerSettings:
    defaults, found = AuthorizerSettings(), variables(AuthorizerSettings._fields)
    issuer, audience = found.get("jwt_issuer"), found.get("jwt_audience")
    leeway, secret_id = found.get("jwt_leeway_seconds"), found.get("jwt_keys_secret_id")
    return AuthorizerSettings(
        jwt_issuer=defaults.jwt_issuer if issuer is None else str(issuer),
        jwt_audience=defaults.jwt_audience if audience is None else str(audience),
        jwt_leeway_seconds=defaults.jwt_leeway_seconds if leeway is None else _integer("jwt_leeway_seconds", leeway),
        jwt_keys_secret_id=None if secret_id is None else str(secret_id),
        platform_admins=_string_list("platform_admins", found.get("platform_admins")),
    )


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name.upper()}: expected an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name.upper()}: expected an integer") from None


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{name.upper()}: expected a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name.upper()}: expected a JSON list of strings")
    return tuple(value)


# -- secrets ------------------------------------------------------------------------------------


class SecretsExtension(NamedTuple):
    """The AWS Parameters and Secrets Lambda Extension of this function: where, and how to ask it."""

    port: int
    token: str  # AWS_SESSION_TOKEN, which the extension requires in X-Aws-Parameters-Secrets-Token
    caches: bool  # its own cache is on: it may answer a forced read with the value being replaced


def secrets_extension(environ: Mapping[str, str] = os.environ) -> SecretsExtension | None:
    """The extension, when the function has one: PARAMETERS_SECRETS_EXTENSION_HTTP_PORT announces it
    (template.yaml sets it with the extension's layer; `make dev` and the tests with their emulator),
    and AWS_SESSION_TOKEN, which Lambda sets, lets us in. The extension's own variables, read where it
    reads them: the process environment."""
    port, token = environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"), environ.get("AWS_SESSION_TOKEN")
    if not port or not token:
        return None
    cache_off = (
        environ.get("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "true").strip().lower() == "false"
        or environ.get("SECRETS_MANAGER_TTL", "").strip() == "0"
    )
    return SecretsExtension(port=int(port), token=token, caches=not cache_off)


_cache: dict[str, tuple[float, str]] = {}  # secret id -> (monotonic time read, value)
_locks: dict[str, threading.Lock] = {}  # secret id -> held while that secret is being read
_cache_lock = threading.Lock()
_provider: Any = None  # Powertools' SecretsProvider, built on first use (it holds the boto3 client)


def read_secret(secret_id: str, *, force: bool = False) -> str:
    """A Secrets Manager value, cached for five minutes (`force` reads it anew).

    A read of a secret already being read waits for that read and takes its value (unless forced).
    Raises DownstreamError (`secrets_unavailable`) when it cannot be read; the message never names
    the secret's value.
    """
    with _cache_lock:
        lock = _locks.setdefault(secret_id, threading.Lock())
    with lock:
        cached = _cache.get(secret_id)
        if cached is not None and not force and time.monotonic() - cached[0] < SECRET_MAX_AGE_SECONDS:
            return cached[1]
        extension = secrets_extension()
        if extension is not None and not (force and extension.caches):
            from idp.clients.secrets_extension import get_secret_string

            value = get_secret_string(secret_id, port=extension.port, token=extension.token)
        else:
            value = _read_with_boto3(secret_id)
        _cache[secret_id] = (time.monotonic(), value)
        return value


def _read_with_boto3(secret_id: str) -> str:
    global _provider
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    if _provider is None:
        # Our own provider (not Powertools' module default), so that `reset` also drops the boto3
        # client and the endpoint it was built for.
        _provider = SecretsProvider()
    try:
        value = _provider.get(secret_id, force_fetch=True)  # the cache above is the one that counts
    except GetParameterError as exc:
        raise DownstreamError("Secrets Manager did not answer a secret's read", code=SECRETS_UNAVAILABLE) from exc
    return value if isinstance(value, str) else bytes(value).decode()


def reset() -> None:
    """Forget cached secrets and settings (tests and the local runner change the environment)."""
    global _provider
    with _cache_lock:
        _cache.clear()
    _provider = None
    _authorizer_settings.cache_clear()
