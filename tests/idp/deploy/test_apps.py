"""Applications on the real database and the Argo CD emulator over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from idp.clients.argocd import ArgoCdError
from idp.deploy import apps
from idp.deploy.argocd_objects import LABEL_APP, LABEL_ENV
from idp.errors import Conflict, DownstreamError, Forbidden, InvalidInput, NotFound
from idp.schemas.deploy import AppCreate
from idp.schemas.tenants import Quota
from idp.tenants import service as tenants
from idp.tenants.access import Action

if TYPE_CHECKING:
    from tests.idp.deploy.conftest import Kit

SERVER = "https://kubernetes.default.svc"


def test_create_makes_one_argocd_application_per_environment(bare: Kit) -> None:
    app, created = bare.create_app(path="k8s/overlays")

    assert created and app.status == "ready" and app.environments == ["dev", "prod"]
    assert app.repo_url == bare.REPO and app.created_by == bare.DEVELOPER
    names = [a["metadata"]["name"] for a in bare.argocd.apps()]
    assert names == ["shop-api-dev", "shop-api-prod"]
    prod = bare.argocd.app("shop-api-prod")
    assert prod is not None
    spec = prod["spec"]
    assert spec["project"] == "shop"
    assert spec["source"] == {"repoURL": bare.REPO, "path": "k8s/overlays", "targetRevision": "HEAD"}
    assert spec["destination"] == {"server": bare.CONFIG.destination_server, "namespace": "shop-prod"}
    assert "automated" not in spec["syncPolicy"]  # only the platform starts syncs
    assert prod["metadata"]["labels"][LABEL_APP] == "api" and prod["metadata"]["labels"][LABEL_ENV] == "prod"
    assert bare.audit("api") == [("app.create", bare.DEVELOPER, "ok")]


def test_create_in_some_environments_only(bare: Kit) -> None:
    app, _ = bare.create_app(environments=["dev"])
    assert app.environments == ["dev"]
    assert [a["metadata"]["name"] for a in bare.argocd.apps()] == ["shop-api-dev"]


def test_a_repository_the_tenant_did_not_register_is_refused_naming_the_allowed_ones(bare: Kit) -> None:
    with pytest.raises(InvalidInput) as caught:
        bare.create_app(repo_url="https://github.com/evil/other.git")
    assert caught.value.status == 422 and caught.value.code == "repo_not_allowed"
    assert "https://github.com/evil/other" in caught.value.message and bare.REPO in caught.value.message
    assert bare.argocd.apps() == [] and bare.db.rows("SELECT * FROM apps") == []


def test_repository_urls_are_compared_normalized(bare: Kit) -> None:
    app, _ = bare.create_app(repo_url="https://GitHub.com/acme/shop.git/")
    assert app.repo_url == bare.REPO


def test_an_unknown_environment_is_refused(bare: Kit) -> None:
    with pytest.raises(InvalidInput) as caught:
        bare.create_app(environments=["dev", "qa"])
    assert caught.value.status == 422 and "qa" in caught.value.message and "dev, prod" in caught.value.message


def test_a_name_too_long_for_argocd_is_refused(bare: Kit) -> None:
    long_tenant = tenants.insert_tenant(
        bare.db,
        name="t" * 20,
        display_name="Long",
        environments=["productioneu"],
        quotas={"productioneu": Quota()},
        created_by=bare.OWNER,
    )
    tenants.add_member(bare.db, long_tenant, user=bare.OWNER, role="owner", added_by=bare.OWNER)
    tenants.set_repositories(bare.db, long_tenant, [bare.REPO], added_by=bare.OWNER)
    spec = AppCreate(name="a" * 40, repo_url=bare.REPO)
    with pytest.raises(InvalidInput) as caught:
        access = bare.access(bare.OWNER, Action.APPS_WRITE, tenant=long_tenant.name)
        apps.create_app(bare.db, bare.argo, access, spec, server=SERVER)
    assert caught.value.status == 422 and "63 characters" in caught.value.message


def test_bad_specs_are_refused_by_the_model() -> None:
    for spec in ({"name": "Web_1"}, {"path": "../etc"}, {"repo_url": "ftp://x/y"}, {"environments": ["dev", "dev"]}):
        with pytest.raises(ValidationError):
            AppCreate.model_validate({"name": "web", "repo_url": "https://github.com/a/b", **spec})


def test_the_same_request_again_is_a_retry_and_another_spec_is_a_conflict(bare: Kit) -> None:
    first, _ = bare.create_app()
    again, created = bare.create_app(bare.OWNER)
    assert not created and again.created_at == first.created_at and again.status == "ready"

    with pytest.raises(Conflict) as caught:
        bare.create_app(path="elsewhere")
    assert caught.value.status == 409 and "already exists" in caught.value.message


def test_argocd_down_leaves_the_app_not_ready_and_a_retry_finishes(bare: Kit) -> None:
    bare.argocd.fail_next(method="POST", path="/api/v1/applications", status=503)

    with pytest.raises(ArgoCdError) as caught:
        bare.create_app()
    assert caught.value.status == 502 and "Retry the same request to finish" in caught.value.message
    (row,) = bare.db.rows("SELECT status, status_reason FROM apps")
    assert row["status"] == "not_ready" and "Argo CD failed" in row["status_reason"]

    app, created = bare.create_app()
    assert not created and app.status == "ready" and app.status_reason is None
    assert len(bare.argocd.apps()) == 2


def test_only_developers_and_up_register_apps_and_outsiders_do_not_see_the_tenant(bare: Kit) -> None:
    with pytest.raises(Forbidden):
        bare.create_app(bare.VIEWER)
    with pytest.raises(NotFound) as caught:
        bare.create_app(bare.OUTSIDER)
    assert caught.value.code == "tenant_not_found"


def test_list_find_and_get_with_argocds_live_view(kit: Kit) -> None:
    kit.deploy_and_finish("v7")
    listed = apps.list_apps(kit.db, kit.access(kit.VIEWER, Action.APPS_READ))
    assert [a.name for a in listed] == ["web"] and listed[0].live is None

    assert [a.tenant for a in apps.find_apps(kit.db, kit.caller(kit.VIEWER), "web")] == ["shop"]
    assert apps.find_apps(kit.db, kit.caller(kit.OUTSIDER), "web") == []
    assert [a.name for a in apps.find_apps(kit.db, kit.caller("root", platform_admin=True), None)] == ["web"]
    robot = kit.caller("sa:shop:ci", kind="service_account", tenant_id=kit.tenant_id, role="developer")
    assert [a.name for a in apps.find_apps(kit.db, robot, None)] == ["web"]

    app = apps.get_app(kit.db, kit.argo, kit.access(kit.VIEWER, Action.APPS_READ), "web")
    assert app.live is not None
    dev, prod = app.live
    assert (dev.environment, dev.argocd_app, dev.namespace) == ("dev", "shop-web-dev", "shop-dev")
    assert (dev.sync_status, dev.health_status, dev.revision, dev.operation_phase) == (
        "Synced",
        "Healthy",
        "v7",
        "Succeeded",
    )
    assert isinstance(dev.last_deployed_at, datetime)
    assert prod.sync_status == "OutOfSync" and prod.revision is None and prod.last_deployed_at is None


def test_get_answers_without_live_data_when_argocd_is_down(kit: Kit) -> None:
    kit.argocd.fail_next(method="GET", status=503, count=10)
    app = apps.get_app(kit.db, kit.argo, kit.access(kit.VIEWER, Action.APPS_READ), "web")
    assert app.live is not None and [e.sync_status for e in app.live] == [None, None]
    assert [e.argocd_app for e in app.live] == ["shop-web-dev", "shop-web-prod"]


def test_an_unknown_app_is_404(kit: Kit) -> None:
    with pytest.raises(NotFound) as caught:
        apps.get_app(kit.db, kit.argo, kit.access(kit.VIEWER, Action.APPS_READ), "nope")
    assert caught.value.code == "app_not_found"


def test_delete_removes_the_argocd_applications_and_keeps_the_row(kit: Kit) -> None:
    with pytest.raises(Forbidden):
        apps.delete_app(kit.db, kit.argo, kit.access(kit.DEVELOPER, Action.APPS_DELETE), "web")

    deleted = apps.delete_app(kit.db, kit.argo, kit.access(kit.ADMIN, Action.APPS_DELETE), "web")
    assert deleted.status == "deleted"
    assert kit.argocd.apps() == []
    assert apps.list_apps(kit.db, kit.access(kit.VIEWER, Action.APPS_READ)) == []
    assert kit.db.rows("SELECT status FROM apps WHERE deleted_at IS NOT NULL") == [{"status": "deleted"}]
    assert ("app.delete", kit.ADMIN, "ok") in kit.audit("web")
    # The name is free again.
    app, created = kit.create_app(name="web")
    assert created and app.status == "ready"


def test_delete_with_argocd_down_can_be_retried(kit: Kit) -> None:
    kit.argocd.fail_next(method="DELETE", status=503)
    with pytest.raises(DownstreamError) as caught:
        apps.delete_app(kit.db, kit.argo, kit.access(kit.ADMIN, Action.APPS_DELETE), "web")
    assert caught.value.status == 502 and "Retry" in caught.value.message
    assert kit.db.rows("SELECT status FROM apps") == [{"status": "deleting"}]

    assert apps.delete_app(kit.db, kit.argo, kit.access(kit.ADMIN, Action.APPS_DELETE), "web").status == "deleted"
    assert kit.argocd.apps() == []


def test_mark_tenant_apps_deleted(kit: Kit) -> None:
    tenant = tenants.get_tenant(kit.db, kit.TENANT)
    with kit.db.transaction():
        apps.mark_tenant_apps_deleted(kit.db, tenant)
    assert apps.list_apps(kit.db, kit.access(kit.OWNER, Action.APPS_READ)) == []
    assert kit.db.rows("SELECT status, status_reason FROM apps") == [
        {"status": "deleted", "status_reason": "tenant deleted"}
    ]
