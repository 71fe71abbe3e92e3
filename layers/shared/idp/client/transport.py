"""The transport of the platform API client: one requests session, typed answers, one error parser.

Requests go out as the API's pydantic models (only the fields the caller set) and answers
come back parsed into them. `requests` is imported on first use, so importing the client
stays cheap for the CLI's `--help` and the chat-ops function's cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import GenericAlias
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter, ValidationError

from idp.client.errors import api_unreachable, error_from_response
from idp.errors import DownstreamError

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

__all__ = ["ApiClient", "segment"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def segment(value: str) -> str:
    """One URL path segment, quoted (an e-mail's `@` stays readable; a `/` never splits it)."""
    return quote(value, safe="@")


class ApiClient:
    """The API at `base_url` (…/v1), as a platform `token`'s holder or signed by `auth` (SigV4).

    `front_end` goes out as `X-IDP-Client` (the audit log names it); `session` lets a caller
    share one pooled session (the chat-ops function keeps one per container).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        auth: AuthBase | None = None,
        front_end: str = "api",
        timeout: float = 10.0,
        session: requests.Session | None = None,
        user_agent: str = "idp-client/0.1",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._auth = auth
        self._session = session
        self._headers = {"X-IDP-Client": front_end, "Accept": "application/json", "User-Agent": user_agent}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def raw(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        json: Any = None,
        data: str | bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The answer as it came, whatever its status (tests assert on it); only transport failures raise."""
        import requests

        sent = {**self._headers, **(headers or {})}
        if body is not None:
            data = body.model_dump_json(exclude_unset=True)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            return self.session.request(
                method,
                self.base_url + path,
                headers=sent,
                params=dict(params) if params else None,
                data=data,
                json=json,
                auth=self._auth,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise api_unreachable(self.base_url, type(exc).__name__) from exc

    def call(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """The answer's body, or the API's error as an `idp.errors` type."""
        response = self.raw(method, path, body=body, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                payload = response.json() if response.content else None
            except ValueError:
                payload = None
            raise error_from_response(response.status_code, payload)
        return response.content or b"null"

    def parse(self, adapter: TypeAdapter[T], content: bytes, where: str) -> T:
        try:
            return adapter.validate_json(content)
        except ValidationError as exc:
            raise DownstreamError(
                f"unexpected answer from {where}: {exc.error_count()} field(s) do not match this client's models",
                code="unexpected_response",
            ) from exc

    # -- typed calls ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        answer: type[M],
        *,
        body: BaseModel | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> M:
        """One call whose answer is one `answer` model; `headers` add to the client's (e.g. Idempotency-Key)."""
        content = self.call(method, path, body=body, params=params, headers=headers)
        return self.parse(TypeAdapter(answer), content, f"{method} {path}")

    def get(self, path: str, answer: type[M], *, params: Mapping[str, str] | None = None) -> M:
        return self.request("GET", path, answer, params=params)

    def get_list(self, path: str, answer: type[M], *, params: Mapping[str, str] | None = None) -> list[M]:
        """A GET whose answer is a JSON list of `answer` models."""
        adapter: TypeAdapter[list[M]] = TypeAdapter(GenericAlias(list, (answer,)))
        return self.parse(adapter, self.call("GET", path, params=params), f"GET {path}")

    def post(
        self, path: str, answer: type[M], body: BaseModel | None = None, *, headers: Mapping[str, str] | None = None
    ) -> M:
        return self.request("POST", path, answer, body=body, headers=headers)

    def put(
        self, path: str, answer: type[M], body: BaseModel | None = None, *, headers: Mapping[str, str] | None = None
    ) -> M:
        return self.request("PUT", path, answer, body=body, headers=headers)

    def patch(
        self, path: str, answer: type[M], body: BaseModel | None = None, *, headers: Mapping[str, str] | None = None
    ) -> M:
        return self.request("PATCH", path, answer, body=body, headers=headers)

    def delete(self, path: str, answer: type[M]) -> M:
        return self.request("DELETE", path, answer)
