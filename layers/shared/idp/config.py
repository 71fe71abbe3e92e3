"""The one configuration loader.

Settings come from environment variables, optionally from a YAML file named by
`IDP_CONFIG_FILE` (environment wins), and secrets from AWS Secrets Manager when a
`*_secret_id` is configured (`read_secret`: through the AWS Parameters and Secrets Lambda
Extension when the function has it, else Powertools Parameters; cached five minutes).

On Lambda each function has its own process and environment. The local runner runs every
function of the template in one process, so it wraps each invocation in
`function_environment(...)` with that function's template Environment: `get_settings()` then
returns settings built from those variables over the process environment.
"""

from __future__ import annotations

import contextlib
import functools
import json
import types
import typing
from collections.abc import Iterator, Mapping
from contextvars import Context
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# read_secret, the one place that decides how a secret is read (the AWS Parameters and Secrets
# extension, else boto3), lives in idp.env so that the authorizer reaches it without this module.
from idp.env import function_variables, read_secret, variables
from idp.env import reset as reset_env

__all__ = ["Settings", "function_environment", "get_settings", "read_secret", "reset_settings"]

KubernetesMode = Literal["kubeconfig", "incluster", "eks"]


# The variables of the function being invoked (local runner only), as sorted (name, value) pairs;
# idp.env holds them, so the authorizer's light settings see them too.
_function_variables = function_variables


def _is_complex(annotation: Any) -> bool:
    """A list, dict, set or tuple (or an optional one): given as JSON in a variable."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_complex(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return (typing.get_origin(annotation) or annotation) in (list, dict, set, frozenset, tuple)


def _configured(model: type[BaseModel]) -> dict[str, Any]:
    """The fields that are set, from the function's variables, the environment, or the YAML file
    (idp.env.variables: names case-insensitive, that order); lists and dicts as JSON."""
    found = variables(model.model_fields)
    for name, value in found.items():
        if isinstance(value, str) and _is_complex(model.model_fields[name].annotation):
            try:
                found[name] = json.loads(value)
            except ValueError:
                raise ValueError(f'{name.upper()} must be JSON, e.g. ["a", "b"]') from None
    return found


class Settings(BaseModel):
    """Every setting, read as pydantic-settings would (names case-insensitive, lists and dicts as JSON;
    keyword arguments first, then `_configured`), without its import (~40-70 ms of every cold start
    here, README "Cold starts")."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_configured(type(self)), **values})

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
    _process_settings.cache_clear()
    _settings_with.cache_clear()
    reset_env()
