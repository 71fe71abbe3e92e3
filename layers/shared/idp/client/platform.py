"""The platform API, one method per route the front ends use (typed with the API's own models)."""

from __future__ import annotations

from idp.client.transport import ApiClient, segment
from idp.schemas.auth import (
    DeliveryClaim,
    DeliveryClaimed,
    MeRead,
    SlackLinkRead,
    SlackLinkRequest,
    SlackToken,
    SlackUserRef,
)
from idp.schemas.deploy import AppRead, DeploymentCreate, DeploymentDecision, DeploymentRead, RollbackCreate
from idp.schemas.tenants import MemberCreate, MemberRead, TenantCreate, TenantRead

__all__ = ["IDEMPOTENCY_HEADER", "PlatformClient"]

IDEMPOTENCY_HEADER = "Idempotency-Key"


class PlatformClient(ApiClient):
    """`PlatformClient(url, token, front_end="cli").list_tenants()`."""

    # -- who am I, and chat-ops' own routes (AWS_IAM: build the client with `auth=`) --------
    def me(self) -> MeRead:
        return self.get("/auth/me", MeRead)

    def slack_token(self, team_id: str, slack_user_id: str) -> SlackToken:
        """A linked Slack user's short-lived platform token (chat-ops only); 404 `slack_not_linked`."""
        return self.post("/auth/slack/token", SlackToken, SlackUserRef(team_id=team_id, slack_user_id=slack_user_id))

    def slack_link(self, team_id: str, slack_user_id: str, code: str | None = None) -> SlackLinkRead:
        """The Slack user's link, made now by `code` or by the e-mail Slack confirms (chat-ops only)."""
        request = SlackLinkRequest(team_id=team_id, slack_user_id=slack_user_id, code=code)
        return self.post("/auth/slack/links", SlackLinkRead, request)

    def claim_delivery(self, key: str, kind: str) -> bool:
        """False when Slack's delivery `key` was acted on before (a retry or duplicate: drop it) (chat-ops only)."""
        return self.post("/auth/slack/deliveries", DeliveryClaimed, DeliveryClaim(key=key, kind=kind)).first

    # -- tenants ---------------------------------------------------------------------------
    def list_tenants(self) -> list[TenantRead]:
        return self.get_list("/tenants", TenantRead)

    def get_tenant(self, name: str) -> TenantRead:
        return self.get(f"/tenants/{segment(name)}", TenantRead)

    def create_tenant(self, request: TenantCreate) -> TenantRead:
        return self.post("/tenants", TenantRead, request)

    def add_member(self, tenant: str, request: MemberCreate) -> MemberRead:
        return self.post(f"/tenants/{segment(tenant)}/members", MemberRead, request)

    # -- apps and deployments --------------------------------------------------------------
    def find_apps(self, name: str) -> list[AppRead]:
        """The caller's apps called `name`, across their tenants (`GET /apps?name=`)."""
        return self.get_list("/apps", AppRead, params={"name": name})

    def get_app(self, tenant: str, app: str) -> AppRead:
        """One app with Argo CD's live view of each environment."""
        return self.get(_app_path(tenant, app), AppRead)

    def request_deployment(
        self, tenant: str, app: str, request: DeploymentCreate, *, idempotency_key: str | None = None
    ) -> DeploymentRead:
        path = _app_path(tenant, app) + "/deployments"
        return self.post(path, DeploymentRead, request, headers=_idempotency(idempotency_key))

    def list_deployments(
        self, tenant: str, app: str, *, environment: str | None = None, limit: int = 10
    ) -> list[DeploymentRead]:
        """Newest first."""
        params = {"limit": str(limit)} | ({"environment": environment} if environment else {})
        return self.get_list(_app_path(tenant, app) + "/deployments", DeploymentRead, params=params)

    def request_rollback(
        self, tenant: str, app: str, request: RollbackCreate, *, idempotency_key: str | None = None
    ) -> DeploymentRead:
        path = _app_path(tenant, app) + "/rollback"
        return self.post(path, DeploymentRead, request, headers=_idempotency(idempotency_key))

    def get_deployment(self, deployment_id: str) -> DeploymentRead:
        return self.get(f"/deployments/{segment(deployment_id)}", DeploymentRead)

    def approve(self, deployment_id: str, decision: DeploymentDecision | None = None) -> DeploymentRead:
        path = f"/deployments/{segment(deployment_id)}/approve"
        return self.post(path, DeploymentRead, decision or DeploymentDecision())

    def reject(self, deployment_id: str, decision: DeploymentDecision | None = None) -> DeploymentRead:
        path = f"/deployments/{segment(deployment_id)}/reject"
        return self.post(path, DeploymentRead, decision or DeploymentDecision())


def _app_path(tenant: str, app: str) -> str:
    return f"/tenants/{segment(tenant)}/apps/{segment(app)}"


def _idempotency(key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: key} if key else {}
