"""The CLI's error family and its one translator (stderr message, exit code, never a traceback).

Exit codes: 2 for bad input or missing local setup (nothing was sent), 1 when the API refused
the request (4xx), 3 when the API failed or could not be reached (5xx, network).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from idp.errors import IdpError

__all__ = [
    "ApiError",
    "ApiUnreachable",
    "CliError",
    "LocalInputError",
    "from_api",
    "handle_errors",
    "input_error_from_validation",
]

P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """Base of every error a command reports; `exit_code` is what the process exits with."""

    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None, details: Any = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        self.hint = hint


class LocalInputError(CliError):
    """Bad input or missing local setup, caught before anything is sent."""

    exit_code = 2


class ApiError(CliError):
    """The API answered with an error: `{"error": {"code", "message", "details"}}`."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, details: Any = None, hint: str | None = None
    ) -> None:
        super().__init__(message, code=code, details=details, hint=hint)
        self.status = status
        self.exit_code = 1 if 400 <= status < 500 else 3


class ApiUnreachable(CliError):
    """No answer at all: connection refused, DNS, TLS, timeout."""

    exit_code = 3


def input_error_from_validation(exc: Any, what: str) -> LocalInputError:
    """A pydantic `ValidationError` as a local input error with `{field, message}` details."""
    details = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err.get("loc", ())) or what
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        details.append({"field": field, "message": message})
    return LocalInputError(f"invalid {what}", code="invalid_input", details=details)


def _format_details(details: Any) -> list[str]:
    if not details:
        return []
    if isinstance(details, list):
        lines = []
        for item in details:
            if isinstance(item, dict) and "message" in item:
                field = item.get("field")
                lines.append(f"  - {field}: {item['message']}" if field else f"  - {item['message']}")
            else:
                lines.append(f"  - {item}")
        return lines
    if isinstance(details, dict):
        return [f"  - {key}: {value}" for key, value in details.items()]
    return [f"  - {details}"]


def report(error: CliError) -> None:
    """Print `error` on stderr: the message, its code, each field detail and a hint."""
    suffix = f" ({error.code})" if error.code else ""
    typer.secho(f"error: {error.message}{suffix}", err=True, fg=typer.colors.RED)
    for line in _format_details(error.details):
        typer.echo(line, err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)


_HINTS = {
    "api_unreachable": "check --api-url / IDP_API_URL (is `make dev` running?)",
    "unexpected_response": "is the CLI older than the API? upgrade it",
}


def from_api(error: IdpError) -> ApiError:
    """An error of the shared API client (`idp.client`) as the CLI reports it, with a hint."""
    hint = _HINTS.get(error.code)
    if error.status == 401:
        hint = "sign in again: `idp login` (or `idp login --token <token>`)"
    return ApiError(error.status, error.message, code=error.code, details=error.details, hint=hint)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so every `CliError` (and every API error) ends as a message on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except IdpError as error:
            cli_error = from_api(error)
            report(cli_error)
            raise typer.Exit(cli_error.exit_code) from None
        except CliError as error:
            report(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper
