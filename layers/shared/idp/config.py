"""The one configuration loader.

Settings come from environment variables, optionally from a YAML file named by
`IDP_CONFIG_FILE` (environment wins), and secrets from AWS Secrets Manager when a
`*_secret_id` is configured (fetched through Powertools Parameters and cached).

On Lambda each function has its own process and environment. The local runner runs every
function of the template in one process, so it wraps each invocation in
`function_environment(...)` with that function's template Environment: `get_settings()` then
returns settings built from those variables over the process environment.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Mapping
from contextvars import Context, ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

__all__ = ["Settings", "function_environment", "get_settings", "read_secret", "reset_settings"]

KubernetesMode = Literal["kubeconfig", "incluster", "eks"]


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the optional YAML file; keys are the settings' field names."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = os.environ.get("IDP_CONFIG_FILE")
        self._data: dict[str, Any] = {}
        if path:
            import yaml

            loaded = yaml.safe_load(Path(path).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a mapping of setting names to values")
            self._data = {str(k).lower(): v for k, v in loaded.items()}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


# The variables of the function being invoked (local runner only), as sorted (name, value) pairs.
_function_variables: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("idp_function_variables", default=())


class _FunctionEnvironmentSource(EnvSettingsSource):
    """The invoked function's own variables, parsed exactly as environment variables are."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        variables = dict(_function_variables.get())
        return parse_env_vars(variables, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Database: postgresql://user:pass@host:port/db, or ...?host=/socket/dir for a Unix socket.
    database_url: SecretStr | None = None
    database_secret_id: str | None = Field(
        default=None, description="Secrets Manager id holding the database URL (overrides database_url)"
    )
    database_schema: str | None = Field(default=None, description="search_path for every connection")

    # Kubernetes: a kubeconfig file, in-cluster config, or EKS with an STS-presigned token.
    kubernetes_mode: KubernetesMode = "kubeconfig"
    kubeconfig: str | None = None
    kube_context: str | None = None
    eks_cluster_name: str | None = None
    eks_endpoint: str | None = None
    eks_ca_data: str | None = None
    kubernetes_timeout_seconds: float = 10.0

    # Platform JWTs (the auth issue replaces the static key with rotated Secrets Manager keys).
    jwt_issuer: str = "idp"
    jwt_audience: str = "idp-api"
    jwt_leeway_seconds: int = 30
    jwt_keys_secret_id: str | None = Field(
        default=None, description="Secrets Manager id of the RS256 signing key set (current + previous keys)"
    )
    jwt_ttl_seconds: int = Field(default=900, gt=0, le=12 * 3600, description="lifetime of platform tokens")

    # Sign-in: the OpenID Connect issuer whose ID tokens /auth/token exchanges for platform tokens.
    oidc_issuer: str | None = None
    oidc_audience: str | None = Field(default=None, description="the ID tokens' `aud` (this platform's client id)")

    # Chat-ops (Slack): the request-signing secret and the bot token, each from Secrets
    # Manager when its *_secret_id is set; the Slack Web API base URL (an emulator locally);
    # the platform API the app calls for the linked user (unset: the API the request came in by).
    slack_signing_secret: SecretStr | None = None
    slack_signing_secret_id: str | None = Field(default=None, description="Secrets Manager id of the signing secret")
    slack_bot_token: SecretStr | None = None
    slack_bot_token_secret_id: str | None = Field(default=None, description="Secrets Manager id of the bot token")
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL")
    idp_api_url: str | None = Field(default=None, description="platform API base URL, e.g. https://.../v1")
    idp_api_timeout_seconds: float = Field(default=10.0, gt=0, le=29)
    # The auth function: the IAM role (arn:aws:iam::<account>:role/<name>) of the chat-ops
    # function, the only caller of the chat-ops routes (/auth/slack/*, AWS_IAM); unset, nobody.
    chatops_role_arn: str | None = Field(default=None, description="IAM role ARN of the chat-ops function")
    aws_region: str | None = Field(default=None, description="AWS_REGION (Lambda sets it): the region SigV4 names")

    # Argo CD: the REST API and the platform's token (from Secrets Manager when its *_secret_id
    # is set); the cluster tenants deploy to, as Argo CD names it.
    argocd_url: str | None = Field(
        default=None, description="Argo CD API server base URL, e.g. https://argocd.example.com"
    )
    argocd_token: SecretStr | None = None
    argocd_token_secret_id: str | None = Field(default=None, description="Secrets Manager id of the Argo CD token")
    argocd_destination_server: str = Field(
        default="https://kubernetes.default.svc", description="cluster URL the tenants' applications deploy to"
    )
    argocd_timeout_seconds: float = Field(default=10.0, gt=0, le=29)

    # Deployments: defaults of a tenant's approval policy, and how the poller follows a sync.
    deploy_approval_environments: list[str] = Field(
        default_factory=lambda: ["prod"], description="environments needing an approval unless a tenant says otherwise"
    )
    deploy_approval_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    deploy_timeout_seconds: int = Field(default=900, gt=0, description="sync start to healthy, else failed")
    deploy_poll_interval_seconds: float = Field(default=5.0, gt=0, description="pause between two poller passes")
    deploy_poll_budget_seconds: float = Field(
        default=45.0, gt=0, description="how long one scheduled poller invocation keeps polling"
    )

    # Service accounts: a token's longest lifetime (and its default, up to 90 days), so a
    # leaked token cannot outlive the window in which anyone would notice and revoke it.
    service_account_max_days: int = Field(
        default=90, ge=1, le=365, description="longest lifetime of a service-account token, in days"
    )

    # Tenants
    default_environments: list[str] = ["dev", "staging", "prod"]
    reserved_namespaces: list[str] = Field(
        default_factory=lambda: ["default", "kube-*", "openshift-*", "idp-*", "argocd", "argocd-*"],
        description="namespace patterns (fnmatch) no tenant may have: the cluster's, the platform's, Argo CD's",
    )
    platform_admins: list[str] = Field(default_factory=list, description="user ids with the platform admin role")

    # Observability
    log_level: str = "INFO"
    enable_swagger: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = _YamlFileSource(settings_cls)
        if _function_variables.get():  # the local runner's function: its own variables win
            return (init_settings, _FunctionEnvironmentSource(settings_cls), env_settings, yaml_file)
        return (init_settings, env_settings, yaml_file)

    def resolved_database_url(self, *, force: bool = False) -> str:
        """The URL; from its secret when one is configured (`force`: read anew, after a rotation)."""
        if self.database_secret_id:
            return read_secret(self.database_secret_id, force=force)
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL (or DATABASE_SECRET_ID) is not configured")
        return self.database_url.get_secret_value()

    def resolved_argocd_token(self) -> str:
        return self._secret(self.argocd_token_secret_id, self.argocd_token, "ARGOCD_TOKEN")

    def resolved_slack_signing_secret(self) -> str:
        return self._secret(self.slack_signing_secret_id, self.slack_signing_secret, "SLACK_SIGNING_SECRET")

    def resolved_slack_bot_token(self) -> str:
        return self._secret(self.slack_bot_token_secret_id, self.slack_bot_token, "SLACK_BOT_TOKEN")

    @staticmethod
    def _secret(secret_id: str | None, value: SecretStr | None, name: str) -> str:
        if secret_id:
            return read_secret(secret_id)
        if value is None:
            raise RuntimeError(f"{name} (or {name}_ID) is not configured")
        return value.get_secret_value()


def get_settings() -> Settings:
    """The settings, built once per process (per function environment under the local runner)."""
    variables = _function_variables.get()
    return _settings_with(variables) if variables else _process_settings()


@contextlib.contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Within it, `get_settings()` reads `variables` over the process environment.

    A context variable, not os.environ: the local runner's functions run concurrently in one
    process (chat-ops calls the API while its own invocation runs), each seeing its own.
    """
    token = _function_variables.set(tuple(sorted(variables.items())))
    try:
        yield
    finally:
        _function_variables.reset(token)


@functools.cache
def _process_settings() -> Settings:
    # In an empty context: first asked for inside an invocation, it must not take its variables.
    return Context().run(Settings)


@functools.lru_cache(maxsize=64)
def _settings_with(variables: tuple[tuple[str, str], ...]) -> Settings:
    settings = Settings()  # reads `variables` through the context variable, which holds them now
    # Equal settings are the same object, so what is cached per settings (clients, the Bolt
    # app) is not rebuilt for each function whose variables change no setting.
    process = _process_settings()
    return process if settings == process else settings


def reset_settings() -> None:
    """Forget cached settings and secrets (tests and the local runner change the environment)."""
    global _secrets
    _process_settings.cache_clear()
    _settings_with.cache_clear()
    _secrets = None


_secrets: Any = None


def read_secret(secret_id: str, *, force: bool = False) -> str:
    """A Secrets Manager value, cached by Powertools for five minutes (`force` reads it anew).

    Our own provider (not Powertools' module default) so that `reset_settings` also drops
    the boto3 client and its endpoint along with the cached values.
    """
    global _secrets
    if _secrets is None:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        _secrets = SecretsProvider()
    value = _secrets.get(secret_id, max_age=300, force_fetch=force)
    return value if isinstance(value, str) else value.decode()
