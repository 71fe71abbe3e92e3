"""Where the CLI keeps its settings and token, and how it finds the API and the OIDC issuer.

The file is `config.json` in `IDP_CONFIG_DIR`, else the user's config directory
(`typer.get_app_dir("idp")`, which honours `XDG_CONFIG_HOME`); it holds the token, so it is
written with mode 0600. A running `make dev` (its `.idp/dev.json`) supplies defaults.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict, ValidationError

from idp_cli.errors import LocalInputError

__all__ = [
    "DEFAULT_CLIENT_ID",
    "CliConfig",
    "DevState",
    "config_dir",
    "config_path",
    "dev_state",
    "load_config",
    "save_config",
]

DEFAULT_CLIENT_ID = "idp-cli"


class CliConfig(BaseModel):
    """What `idp login` remembers."""

    model_config = ConfigDict(extra="ignore")

    api_url: str | None = None
    token: str | None = None
    token_kind: str | None = None  # "platform" (a JWT) or "service_account" (idp_sa_...)
    expires_at: str | None = None  # ISO 8601, for platform tokens
    oidc_issuer: str | None = None
    client_id: str | None = None


class DevState(BaseModel):
    """The parts of `make dev`'s `.idp/dev.json` the CLI uses."""

    model_config = ConfigDict(extra="ignore")

    api_url: str | None = None
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None


def config_dir() -> Path:
    override = os.environ.get("IDP_CONFIG_DIR")
    return Path(override) if override else Path(typer.get_app_dir("idp"))


def config_path() -> Path:
    return config_dir() / "config.json"


def load_config() -> CliConfig:
    path = config_path()
    if not path.exists():
        return CliConfig()
    try:
        return CliConfig.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise LocalInputError(
            f"cannot read the CLI configuration {path}: {exc}", hint=f"fix or delete {path}, then `idp login`"
        ) from None


def save_config(config: CliConfig) -> Path:
    """Write the configuration readable by its owner only (it carries the token)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(config.model_dump(exclude_none=True), indent=2) + "\n"
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.chmod(path.with_suffix(".tmp"), 0o600)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def _state_dir() -> Path:
    override = os.environ.get("IDP_STATE_DIR")
    if override:
        return Path(override)
    try:
        from idp_local.dev import STATE_DIR
    except ImportError:  # the CLI without the local platform
        return Path.cwd() / ".idp"
    return Path(STATE_DIR)


def dev_state() -> DevState:
    """The local platform's state (`make dev`), or an empty one."""
    path = _state_dir() / "dev.json"
    try:
        return DevState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return DevState()
