"""Our Argo CD adapter against the emulator over real HTTP: calls work, errors are ours."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.clients.argocd import (
    ArgoCdClient,
    ArgoCdError,
    ArgoCdForbidden,
    ArgoCdNotFound,
    ArgoCdRejected,
    ArgoCdUnavailable,
)
from idp.errors import DownstreamError
from idp_local.emulators.argocd import ArgoCdEmulator


@pytest.fixture
def client(argocd: ArgoCdEmulator) -> Iterator[ArgoCdClient]:
    with ArgoCdClient(argocd.url, argocd.admin_token, timeout=5) as made:
        yield made


def _project(name: str = "shop") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "sourceRepos": ["https://github.com/acme/shop-*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": f"{name}-*"}],
            "roles": [{"name": "ci", "policies": [f"p, proj:{name}:ci, applications, *, {name}/*, allow"]}],
        },
    }


def _app(
    name: str = "shop-dev",
    *,
    project: str = "shop",
    namespace: str = "shop-dev",
    repo: str = "https://github.com/acme/shop-deploy",
    automated: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": project,
        "source": {"repoURL": repo, "path": "dev", "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
    }
    if automated:
        spec["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
    return {"metadata": {"name": name}, "spec": spec}


def test_project_upsert_get_delete(client: ArgoCdClient) -> None:
    assert client.get_project("shop") is None
    assert client.upsert_project(_project())["metadata"]["name"] == "shop"
    changed = _project()
    changed["spec"]["sourceRepos"] = ["https://github.com/acme/*"]
    client.upsert_project(changed)
    project = client.get_project("shop")
    assert project is not None and project["spec"]["sourceRepos"] == ["https://github.com/acme/*"]
    assert client.delete_project("shop") is True
    assert client.delete_project("shop") is False


def test_app_allowed_and_disallowed(client: ArgoCdClient) -> None:
    client.upsert_project(_project())
    created = client.upsert_app(_app())
    assert created["status"]["sync"]["status"] == "OutOfSync"
    with pytest.raises(ArgoCdRejected) as bad_namespace:
        client.upsert_app(_app("x", namespace="kube-system"))
    assert bad_namespace.value.http_status == 400
    assert "do not match any of the allowed destinations in project 'shop'" in bad_namespace.value.message
    with pytest.raises(ArgoCdRejected, match="is not permitted in project 'shop'"):
        client.upsert_app(_app("y", repo="https://github.com/evil/repo"))
    assert [a["metadata"]["name"] for a in client.list_apps("shop")] == ["shop-dev"]
    assert client.delete_app("shop-dev") is True
    assert client.delete_app("shop-dev") is False
    assert client.get_app("shop-dev") is None


def test_sync_to_a_revision_runs_then_succeeds(client: ArgoCdClient) -> None:
    client.upsert_project(_project())
    client.upsert_app(_app())
    started = client.sync("shop-dev", revision="abc123", prune=True)
    assert started["status"]["operationState"]["phase"] == "Running"
    with pytest.raises(ArgoCdRejected, match="another operation is already in progress"):
        client.sync("shop-dev")
    app = client.get_app("shop-dev")
    assert app is not None
    status = app["status"]
    assert status["operationState"]["phase"] == "Succeeded"
    assert status["sync"]["status"] == "Synced" and status["sync"]["revision"] == "abc123"
    assert status["health"]["status"] == "Healthy"
    assert [(h["id"], h["revision"], h["initiatedBy"]["username"]) for h in status["history"]] == [
        (0, "abc123", "admin")
    ]


def test_fail_next_sync_ends_failed_with_the_message(client: ArgoCdClient, argocd: ArgoCdEmulator) -> None:
    client.upsert_project(_project())
    client.upsert_app(_app())
    argocd.fail_next_sync("shop-dev", message="ImagePullBackOff")
    client.sync("shop-dev")
    app = client.get_app("shop-dev")
    assert app is not None
    assert app["status"]["operationState"]["phase"] == "Failed"
    assert app["status"]["operationState"]["message"] == "ImagePullBackOff"
    assert app["status"]["health"]["status"] == "Degraded"


def test_rollback_refused_with_automated_sync_and_works_without(client: ArgoCdClient) -> None:
    client.upsert_project(_project())
    client.upsert_app(_app())
    for revision in ("v1", "v2"):
        client.sync("shop-dev", revision=revision)
        client.get_app("shop-dev")
    client.upsert_app(_app(automated=True))
    with pytest.raises(ArgoCdRejected, match="auto-sync is enabled"):
        client.rollback("shop-dev", 0)
    client.upsert_app(_app())
    with pytest.raises(ArgoCdRejected, match="does not have deployment with id 7"):
        client.rollback("shop-dev", 7)
    assert client.rollback("shop-dev", 0)["status"]["operationState"]["phase"] == "Running"
    assert client.terminate("shop-dev") is True
    client.get_app("shop-dev")
    assert client.terminate("shop-dev") is False
    client.rollback("shop-dev", 0)
    app = client.get_app("shop-dev")
    assert app is not None and app["status"]["sync"]["revision"] == "v1"
    assert [h["revision"] for h in app["status"]["history"]] == ["v1", "v2", "v1"]


def test_project_token_sees_only_its_project(client: ArgoCdClient, argocd: ArgoCdEmulator) -> None:
    client.upsert_project(_project())
    client.upsert_app(_app())
    client.upsert_app(_app("other", project="default", namespace="anything"))
    token = client.project_token("shop", "ci")
    with ArgoCdClient(argocd.url, token, timeout=5) as scoped:
        assert [a["metadata"]["name"] for a in scoped.list_apps()] == ["shop-dev"]
        assert scoped.get_app("shop-dev", project="shop") is not None
        with pytest.raises(ArgoCdForbidden) as denied:
            scoped.get_app("other")
        assert denied.value.http_status == 403 and "permission denied" in denied.value.message
        assert scoped.get_app("missing") is None
        assert scoped.sync("shop-dev")["status"]["operationState"]["phase"] == "Running"
        with pytest.raises(ArgoCdForbidden):
            scoped.sync("other")
    with pytest.raises(ArgoCdForbidden):
        client.get_app("shop-dev", project="default")
    with pytest.raises(ArgoCdNotFound):
        client.project_token("shop", "no-such-role")


def test_errors_are_ours(argocd: ArgoCdEmulator) -> None:
    with ArgoCdClient(argocd.url, "wrong-token", timeout=5) as anonymous, pytest.raises(ArgoCdError) as error:
        anonymous.list_apps()
    assert error.value.http_status == 401 and "wrong-token" not in str(error.value) + repr(anonymous)
    argocd.fail_next(path="/api/v1/applications", status=503)
    with ArgoCdClient(argocd.url, argocd.admin_token) as client, pytest.raises(ArgoCdUnavailable) as down:
        client.list_apps()
    assert down.value.http_status == 503 and down.value.code == "argocd_unavailable"


def test_emulator_down_is_unavailable() -> None:
    with ArgoCdEmulator() as gone:
        url = gone.url
    with ArgoCdClient(url, "t", timeout=2) as client, pytest.raises(ArgoCdUnavailable) as error:
        client.get_app("x")
    assert isinstance(error.value, DownstreamError) and error.value.http_status is None
    assert error.value.code == "argocd_unavailable"
