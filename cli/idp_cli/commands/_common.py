"""What every API command shares: the global options and the session they resolve to.

`--output` and `--api-url` work before the command (`idp -o json tenant list`, env
`IDP_OUTPUT` / `IDP_API_URL`) and after it (`idp tenant list -o json`); the one given
after wins. The API URL falls back to the config file, then to `make dev`'s `.idp/dev.json`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from idp_cli.errors import LocalInputError, input_error_from_validation
from idp_cli.output import OutputFormat

if TYPE_CHECKING:
    from pydantic import BaseModel

    from idp.client import PlatformClient as ApiClient
    from idp_cli.config import CliConfig

__all__ = [
    "ApiUrlOption",
    "OutputOption",
    "Session",
    "TenantOption",
    "check_name",
    "default_tenant",
    "global_options",
    "open_session",
    "resolve_app",
    "validated",
]

M = TypeVar("M", bound="BaseModel")

_OUTPUT_KEY = "idp_cli.output"
_API_URL_KEY = "idp_cli.api_url"

OutputOption = Annotated[
    OutputFormat | None,
    typer.Option("--output", "-o", case_sensitive=False, help="table, json or yaml [env: IDP_OUTPUT]"),
]
ApiUrlOption = Annotated[
    str | None, typer.Option("--api-url", help="the API's base URL, e.g. http://127.0.0.1:8000/v1 [env: IDP_API_URL]")
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", "-t", help="the tenant (default: found from the name, or your only tenant)")
]


def global_options(
    ctx: typer.Context,
    output: Annotated[
        OutputFormat | None,
        typer.Option("--output", "-o", envvar="IDP_OUTPUT", case_sensitive=False, help="table, json or yaml"),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", envvar="IDP_API_URL", help="the API's base URL (…/v1)")
    ] = None,
) -> None:
    """Internal Developer Platform."""
    ctx.meta[_OUTPUT_KEY] = output
    ctx.meta[_API_URL_KEY] = api_url


def _normal(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass
class Session:
    """The resolved options of one command: where the API is, how to print, who we are."""

    api_url: str
    output: OutputFormat
    config: CliConfig
    token: str | None

    def client(self, *, authenticated: bool = True) -> ApiClient:
        from idp.client import PlatformClient as ApiClient

        if authenticated and not self.token:
            raise LocalInputError(
                f"not signed in to {self.api_url}",
                code="not_signed_in",
                hint="run `idp login` (or `idp login --token <token>`, or set IDP_TOKEN)",
            )
        from idp_cli.device_flow import USER_AGENT

        token = self.token if authenticated else None
        return ApiClient(self.api_url, token, front_end="cli", timeout=30.0, user_agent=USER_AGENT)


def resolve_output(ctx: typer.Context, output: OutputFormat | None) -> OutputFormat:
    chosen = output or ctx.meta.get(_OUTPUT_KEY) or os.environ.get("IDP_OUTPUT") or OutputFormat.table
    try:
        return OutputFormat(str(getattr(chosen, "value", chosen)).lower())
    except ValueError:
        raise LocalInputError(f"unknown output format {chosen!r}: use table, json or yaml") from None


def open_session(ctx: typer.Context, output: OutputFormat | None = None, api_url: str | None = None) -> Session:
    from idp_cli.config import dev_state, load_config

    config = load_config()
    chosen = (
        api_url or ctx.meta.get(_API_URL_KEY) or os.environ.get("IDP_API_URL") or config.api_url or dev_state().api_url
    )
    if not chosen:
        raise LocalInputError(
            "no API URL", code="no_api_url", hint="pass --api-url, set IDP_API_URL, or run `make dev` locally"
        )
    if not chosen.startswith(("http://", "https://")):
        raise LocalInputError(f"the API URL must start with http:// or https://, not {chosen!r}", code="bad_api_url")
    chosen = _normal(chosen)
    # A stored token goes only to the API it was issued for; IDP_TOKEN goes wherever it is told.
    token = os.environ.get("IDP_TOKEN") or None
    if token is None and config.token and config.api_url and _normal(config.api_url) == chosen:
        token = config.token
    return Session(api_url=chosen, output=resolve_output(ctx, output), config=config, token=token)


def check_name(value: str, what: str = "tenant name") -> str:
    """A tenant or service-account name is a DNS-1123 label; say so before sending anything."""
    from idp.kube_names import validate_dns1123_label

    try:
        return validate_dns1123_label(value)
    except ValueError as exc:
        raise LocalInputError(f"invalid {what} {value!r}: {exc}", code="invalid_input") from None


def validated(model: type[M], what: str, **fields: Any) -> M:
    """`model(**fields)`, a pydantic validation error turned into a local input error (exit 2)."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        raise input_error_from_validation(exc, what) from None


def default_tenant(client: ApiClient, tenant: str | None) -> str:
    """`tenant` when given, else the caller's only tenant (`GET /auth/me`); several or none: say so (exit 2)."""
    from idp.schemas.auth import MeRead

    if tenant:
        return check_name(tenant)
    names = sorted({t.name for t in client.get("/auth/me", MeRead).tenants})
    if len(names) == 1:
        return names[0]
    if not names:
        raise LocalInputError("you belong to no tenant: pass --tenant", code="tenant_required")
    raise LocalInputError(f"you belong to several tenants ({', '.join(names)}): pass --tenant", code="tenant_required")


def resolve_app(client: ApiClient, ref: str, tenant: str | None) -> tuple[str, str]:
    """`(tenant, app)` for `ref` (`app` or `tenant/app`): `--tenant` or the prefix, else `GET /apps?name=`.

    An app of that name in several of the caller's tenants is ambiguous (exit 2, naming them).
    """
    from urllib.parse import quote

    from idp.schemas.deploy import AppRead
    from idp_cli.errors import CliError

    prefix, slash, name = ref.partition("/")
    if slash:
        if tenant and tenant != prefix:
            raise LocalInputError(f"{ref!r} names tenant {prefix!r} but --tenant says {tenant!r}", code="invalid_input")
        tenant = prefix
    else:
        name = ref
    check_name(name, "app name")
    if tenant:
        return check_name(tenant), name
    tenants = sorted(
        {a.tenant for a in client.get_list(f"/apps?name={quote(name, safe='')}", AppRead) if a.name == name}
    )
    if not tenants:
        raise CliError(f"no app named {name!r} in your tenants", code="app_not_found", hint="see `idp app list`")
    if len(tenants) > 1:
        raise LocalInputError(
            f"app {name!r} is in several of your tenants: {', '.join(tenants)}",
            code="ambiguous_app",
            hint=f"name one: `{tenants[0]}/{name}` or `--tenant {tenants[0]}`",
        )
    return tenants[0], name
