"""The one client of the platform's HTTPS API: the chat-ops app acts through it with the
linked user's short-lived token, so that user's own rights apply to every action.

That token comes from the API too: `slack_token` and `slack_link` call the auth function's
`/auth/slack/*` routes as the chat-ops function itself (AWS_IAM: SigV4-signed with its role's
credentials, `chatops_auth`); the function holds no key to sign platform tokens with.

Every request carries `X-IDP-Client: slack` (the audit log names the front end). API errors
become `idp.errors` types carrying the API's own message and code; transport failures
become `DownstreamError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter, ValidationError

from idp.auth.models import SlackLinkRead, SlackLinkRequest, SlackToken, SlackUserRef
from idp.deploy.models import AppRead, DeploymentCreate, DeploymentDecision, DeploymentRead, RollbackCreate
from idp.errors import (
    Conflict,
    DownstreamError,
    Forbidden,
    IdpError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from idp.tenants.models import MemberCreate, MemberRead, TenantCreate, TenantRead

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

    from idp.clients.sigv4 import SigV4Auth
    from idp.config import Settings

__all__ = ["MeRead", "PlatformClient", "TenantRole", "chatops_auth", "error_from_response"]

_BY_STATUS: dict[int, type[IdpError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
}

_session: requests.Session | None = None
_signer: tuple[Settings, SigV4Auth] | None = None


def _shared_session() -> requests.Session:
    """One pooled session per container: warm invocations reuse its connections."""
    global _session
    if _session is None:
        import requests

        _session = requests.Session()
    return _session


def chatops_auth(settings: Settings) -> SigV4Auth:
    """The chat-ops function's SigV4 signer (its role's credentials, `AWS_REGION`), one per container."""
    global _signer
    if _signer is None or _signer[0] is not settings:
        from idp.clients.sigv4 import SigV4Auth

        if not settings.aws_region:
            raise DownstreamError("AWS_REGION is not set: the chat-ops app cannot sign its calls to the platform API")
        _signer = (settings, SigV4Auth(region=settings.aws_region))
    return _signer[1]


class TenantRole(BaseModel):
    name: str
    role: str


class MeRead(BaseModel):
    """`GET /auth/me`, as much of it as the app shows."""

    user_id: str
    email: str | None = None
    name: str | None = None
    platform_admin: bool = False
    tenants: list[TenantRole] = []


def error_from_response(status: int, body: Any) -> IdpError:
    """The API's `{"error": {"code", "message", "details"}}` as one of our errors."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        message, code, details = str(error["message"]), error.get("code"), error.get("details")
    else:
        message, code, details = f"the platform API answered HTTP {status}", None, None
    kind = _BY_STATUS.get(status) or (DownstreamError if status >= 500 else IdpError)
    return kind(message, code=str(code) if code else None, details=details)


class PlatformClient:
    """The platform API at `base_url` (…/v1), called with a platform `token`, or signed by `auth`
    (the chat-ops function's own SigV4 signature, for the `/auth/slack/*` routes)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        auth: AuthBase | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._auth = auth
        self._timeout = timeout
        self._session = session

    def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None = None,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        import requests

        session = self._session or _shared_session()
        sent = {"X-IDP-Client": "slack", "Accept": "application/json"}
        if self._token is not None:
            sent["Authorization"] = f"Bearer {self._token}"
        sent.update(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            response = session.request(
                method,
                self.base_url + path,
                headers=sent,
                params=params,
                data=body.model_dump_json(exclude_unset=True) if body is not None else None,
                timeout=self._timeout,
                auth=self._auth,
            )
        except requests.RequestException as exc:
            raise DownstreamError(f"the platform API did not answer ({type(exc).__name__})") from exc
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise error_from_response(response.status_code, payload)
        return payload

    def _parse(self, model: Any, payload: Any) -> Any:
        try:
            return TypeAdapter(model).validate_python(payload)
        except ValidationError as exc:
            raise DownstreamError("the platform API answered in an unexpected shape") from exc

    # -- the chat-ops function's own routes (signed by `auth`) --------------------------
    def slack_token(self, team_id: str, slack_user_id: str) -> SlackToken:
        """The linked user's five-minute token; NotFound (`slack_not_linked`) for an unlinked Slack user."""
        body = SlackUserRef(team_id=team_id, slack_user_id=slack_user_id)
        return self._parse(SlackToken, self._call("POST", "/auth/slack/token", body))

    def slack_link(self, team_id: str, slack_user_id: str, code: str | None = None) -> SlackLinkRead:
        """Links the Slack user by one-time `code`; without one, the link it has or one by the e-mail Slack
        confirms. InvalidInput (`link_code_invalid`), NotFound (`slack_not_linked`) otherwise."""
        body = SlackLinkRequest(team_id=team_id, slack_user_id=slack_user_id, code=code)
        return self._parse(SlackLinkRead, self._call("POST", "/auth/slack/links", body))

    def me(self) -> MeRead:
        return self._parse(MeRead, self._call("GET", "/auth/me"))

    def list_tenants(self) -> list[TenantRead]:
        return self._parse(list[TenantRead], self._call("GET", "/tenants"))

    def get_tenant(self, name: str) -> TenantRead:
        return self._parse(TenantRead, self._call("GET", f"/tenants/{quote(name, safe='')}"))

    def create_tenant(self, request: TenantCreate) -> TenantRead:
        return self._parse(TenantRead, self._call("POST", "/tenants", request))

    def add_member(self, tenant: str, request: MemberCreate) -> MemberRead:
        path = f"/tenants/{quote(tenant, safe='')}/members"
        return self._parse(MemberRead, self._call("POST", path, request))

    # -- apps and deployments ------------------------------------------------------------
    def find_apps(self, name: str) -> list[AppRead]:
        """The caller's apps called `name`, across their tenants (`GET /apps?name=`)."""
        return self._parse(list[AppRead], self._call("GET", "/apps", params={"name": name}))

    def get_app(self, tenant: str, app: str) -> AppRead:
        """One app with Argo CD's live view of each environment."""
        return self._parse(AppRead, self._call("GET", _app_path(tenant, app)))

    def request_deployment(
        self, tenant: str, app: str, request: DeploymentCreate, *, idempotency_key: str | None = None
    ) -> DeploymentRead:
        path = _app_path(tenant, app) + "/deployments"
        answer = self._call("POST", path, request, headers=_idempotency(idempotency_key))
        return self._parse(DeploymentRead, answer)

    def list_deployments(
        self, tenant: str, app: str, *, environment: str | None = None, limit: int = 10
    ) -> list[DeploymentRead]:
        """Newest first."""
        params = {"limit": str(limit)} | ({"environment": environment} if environment else {})
        answer = self._call("GET", _app_path(tenant, app) + "/deployments", params=params)
        return self._parse(list[DeploymentRead], answer)

    def request_rollback(
        self, tenant: str, app: str, request: RollbackCreate, *, idempotency_key: str | None = None
    ) -> DeploymentRead:
        path = _app_path(tenant, app) + "/rollback"
        answer = self._call("POST", path, request, headers=_idempotency(idempotency_key))
        return self._parse(DeploymentRead, answer)

    def get_deployment(self, deployment_id: str) -> DeploymentRead:
        return self._parse(DeploymentRead, self._call("GET", f"/deployments/{quote(deployment_id, safe='')}"))

    def approve(self, deployment_id: str, decision: DeploymentDecision | None = None) -> DeploymentRead:
        path = f"/deployments/{quote(deployment_id, safe='')}/approve"
        return self._parse(DeploymentRead, self._call("POST", path, decision or DeploymentDecision()))

    def reject(self, deployment_id: str, decision: DeploymentDecision | None = None) -> DeploymentRead:
        path = f"/deployments/{quote(deployment_id, safe='')}/reject"
        return self._parse(DeploymentRead, self._call("POST", path, decision or DeploymentDecision()))


def _app_path(tenant: str, app: str) -> str:
    return f"/tenants/{quote(tenant, safe='')}/apps/{quote(app, safe='')}"


def _idempotency(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}
