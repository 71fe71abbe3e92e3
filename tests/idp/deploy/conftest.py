"""Deploy fixtures: a tenant "shop" (dev, prod) with members of every role, its registered
repository and its AppProject in the Argo CD emulator, and an app "web" in both environments."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from idp.api.gate import check_route
from idp.clients.argocd import ArgoCdClient
from idp.db import Database
from idp.deploy import approvals, flows
from idp.deploy.apps import create_app
from idp.deploy.policy import DeployConfig
from idp.deploy.tracking import PollSummary, poll_once
from idp.principal import Caller
from idp.schemas.deploy import AppCreate, AppRead, DeploymentCreate, DeploymentDecision, DeploymentRead, RollbackCreate
from idp.schemas.tenants import Quota, Role
from idp.tenants import argocd_project
from idp.tenants import service as tenants
from idp.tenants.access import Action, TenantAccess, authorize
from idp.tenants.service import TenantRecord
from idp_local.emulators.argocd import ArgoCdEmulator

TENANT = "shop"
REPO = "https://github.com/acme/shop"
OWNER = "olivia@example.com"  # requests deploys in most tests
OTHER_OWNER = "oscar@example.com"
ADMIN = "adam@example.com"
DEVELOPER = "dora@example.com"
VIEWER = "victor@example.com"
OUTSIDER = "mallory@example.com"
MEMBERS: list[tuple[str, Role]] = [
    (OWNER, "owner"),
    (OTHER_OWNER, "owner"),
    (ADMIN, "admin"),
    (DEVELOPER, "developer"),
    (VIEWER, "viewer"),
]
CONFIG = DeployConfig()  # prod needs approval, one hour to decide, 900 s to become healthy

if TYPE_CHECKING:
    from idp.deploy.notifications import SlackNotifier
    from idp_local.emulators.slack import SlackEmulator


def caller(user: str, **extra: Any) -> Caller:
    return Caller(user_id=user, email=user, **extra)


@dataclass
class RecordingNotifier:
    """Stands in for the Slack notifier: remembers what it was asked to deliver."""

    calls: list[str | None] = field(default_factory=list)

    def deliver(self, db: Database, deployment_id: str | None = None) -> int:
        self.calls.append(deployment_id)
        return 0


@pytest.fixture
def argo(argocd: ArgoCdEmulator) -> Iterator[ArgoCdClient]:
    """Our Argo CD client, on the freshly reset emulator."""
    with ArgoCdClient(argocd.url, argocd.admin_token) as client:
        yield client


@pytest.fixture
def shop(db: Database, argo: ArgoCdClient) -> TenantRecord:
    tenant = tenants.insert_tenant(
        db,
        name=TENANT,
        display_name="Shop",
        environments=["dev", "prod"],
        quotas={"dev": Quota(), "prod": Quota()},
        created_by=OWNER,
    )
    for user, role in MEMBERS:
        tenants.add_member(db, tenant, user=user, role=role, added_by=OWNER)
    tenants.set_repositories(db, tenant, [REPO], added_by=OWNER)
    argo.upsert_project(
        argocd_project.project(TENANT, [tenant.namespace(e) for e in tenant.environments], [REPO], tenant_id=tenant.id)
    )
    return tenant


@pytest.fixture
def web(db: Database, argo: ArgoCdClient, shop: TenantRecord) -> AppRead:
    spec = AppCreate(name="web", repo_url=REPO, path="deploy")
    with db.transaction():
        access = authorize(db, caller(DEVELOPER), TENANT, Action.APPS_WRITE)
    app, created = create_app(db, argo, access, spec, server=CONFIG.destination_server)
    assert created and app.status == "ready"
    return app


class Kit:
    """What the deploy tests share: the users, the config, and short ways to act and look."""

    TENANT = TENANT
    REPO = REPO
    OWNER = OWNER
    OTHER_OWNER = OTHER_OWNER
    ADMIN = ADMIN
    DEVELOPER = DEVELOPER
    VIEWER = VIEWER
    OUTSIDER = OUTSIDER
    CONFIG = CONFIG

    def __init__(self, db: Database, argo: ArgoCdClient, argocd: ArgoCdEmulator, tenant_id: str) -> None:
        self.db, self.argo, self.argocd, self.tenant_id = db, argo, argocd, tenant_id
        self.notifier = RecordingNotifier()

    @staticmethod
    def caller(user: str, **extra: Any) -> Caller:
        return caller(user, **extra)

    def access(self, user: str, action: Action, *, tenant: str = TENANT, **extra: Any) -> TenantAccess:
        """What the HTTP gate hands a flow for a tenant route (Forbidden / NotFound as it would answer)."""
        with self.db.transaction():
            return authorize(self.db, caller(user, **extra), tenant, action)

    def deployment_access(self, user: str, deployment_id: str, route: str = "", **extra: Any) -> TenantAccess:
        """What the HTTP gate hands a flow for `/deployments/{id}{route}` (404 deployment_not_found for outsiders)."""
        method = "POST" if route else "GET"
        resource = "/deployments/{deployment}" + route
        decision = check_route(lambda: self.db, caller(user, **extra), method, resource, {"deployment": deployment_id})
        assert decision.access is not None
        return decision.access

    def deploy(
        self,
        user: str = DEVELOPER,
        environment: str = "dev",
        revision: str = "v1",
        *,
        key: str | None = None,
        slack_channel: str | None = None,
        app: str = "web",
    ) -> DeploymentRead:
        request = DeploymentCreate(environment=environment, revision=revision, slack_channel=slack_channel)
        access = self.access(user, Action.DEPLOY)
        deployment, _ = flows.request_deployment(
            self.db, self.argo, self.notifier, access, app, request, idempotency_key=key, config=CONFIG
        )
        return deployment

    def rollback(self, environment: str = "dev", to: str | None = None, user: str = DEVELOPER) -> DeploymentRead:
        request = RollbackCreate(environment=environment, to=to)
        access = self.access(user, Action.DEPLOY)
        deployment, _ = flows.request_rollback(
            self.db, self.argo, self.notifier, access, "web", request, idempotency_key=None, config=CONFIG
        )
        return deployment

    def approve(self, deployment_id: str, user: str = ADMIN) -> DeploymentRead:
        access = self.deployment_access(user, deployment_id, "/approve")
        return approvals.approve(self.db, self.argo, self.notifier, access, deployment_id, None, config=CONFIG)

    def reject(self, deployment_id: str, user: str = ADMIN, comment: str | None = None) -> DeploymentRead:
        access = self.deployment_access(user, deployment_id, "/reject")
        return approvals.reject(self.db, self.notifier, access, deployment_id, DeploymentDecision(comment=comment))

    def poll(self, now: datetime | None = None) -> PollSummary:
        return poll_once(self.db, self.argo, self.notifier, config=CONFIG, now=now)

    def get(self, deployment_id: str, user: str = VIEWER) -> DeploymentRead:
        return flows.get_deployment(self.db, self.deployment_access(user, deployment_id), deployment_id)

    def create_app(self, user: str = DEVELOPER, **spec: Any) -> tuple[AppRead, bool]:
        body = AppCreate.model_validate({"name": "api", "repo_url": REPO, **spec})
        access = self.access(user, Action.APPS_WRITE)
        return create_app(self.db, self.argo, access, body, server=CONFIG.destination_server)

    def deploy_and_finish(self, revision: str, environment: str = "dev") -> DeploymentRead:
        """A deployment (approved by ADMIN when needed) followed until Argo CD says it is final."""
        deployment = self.deploy(OWNER, environment, revision)
        if deployment.state == "pending_approval":
            self.approve(deployment.id)
        self.poll()
        return self.get(deployment.id)

    def audit(self, target: str | None = None) -> list[tuple[str, str, str]]:
        """(action, actor, outcome) of the audit log, oldest first."""
        rows = self.db.rows(
            "SELECT action, actor, outcome FROM audit_log WHERE (CAST(:t AS text) IS NULL OR target = :t) ORDER BY id",
            t=target,
        )
        return [(r["action"], r["actor"], r["outcome"]) for r in rows]

    def outbox(self, deployment_id: str) -> list[str]:
        rows = self.db.run(
            "SELECT kind FROM deployment_notifications WHERE deployment_id = CAST(:id AS uuid) ORDER BY id",
            id=deployment_id,
        )
        return [str(r[0]) for r in rows]

    def operations_started(self, argocd_app: str) -> int:
        """How many syncs or rollbacks Argo CD started for the application."""
        return sum(e["reason"] == "OperationStarted" for e in self.argocd.events(argocd_app))

    def history(self, argocd_app: str) -> list[str]:
        app = self.argocd.app(argocd_app)
        assert app is not None
        return [h["revision"] for h in app["status"]["history"]]


@pytest.fixture
def bare(db: Database, argo: ArgoCdClient, argocd: ArgoCdEmulator, shop: TenantRecord) -> Kit:
    """The tenant ready, no app yet."""
    return Kit(db, argo, argocd, shop.id)


@pytest.fixture
def kit(bare: Kit, web: AppRead) -> Kit:
    """The tenant and its app "web" ready; a Kit to act on them."""
    return bare


# The Slack emulator over HTTP and our notifier pointed at it (the outbox and notification tests).
@pytest.fixture(scope="module")
def slack_server() -> Iterator[SlackEmulator]:
    from idp_local.emulators.slack import SlackEmulator

    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack(slack_server: SlackEmulator) -> SlackEmulator:
    slack_server.reset()
    return slack_server


@pytest.fixture
def notifier(slack: SlackEmulator) -> SlackNotifier:
    from idp.clients.slack import SlackClient
    from idp.deploy.notifications import SlackNotifier

    return SlackNotifier(SlackClient(slack.bot_token, base_url=slack.api_url))
