"""Our Kubernetes adapter against the emulator over real HTTP: apply is idempotent, errors are ours."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.clients.kubernetes import KINDS, KubeClient, KubeError, KubeInvalid, KubeNotFound, eks_token
from idp.config import Settings
from idp.errors import DownstreamError


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _quota(ns: str, cpu: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": ns},
        "spec": {"hard": {"limits.cpu": cpu}},
    }


def test_apply_creates_then_leaves_unchanged_then_updates(kube_client: KubeClient, kube: Any) -> None:
    assert kube_client.apply(_ns("team-dev", team="a")) == "created"
    assert kube_client.apply(_ns("team-dev", team="a")) == "unchanged"
    assert kube_client.apply(_quota("team-dev", "1")) == "created"
    version = kube.objects("resourcequotas", "team-dev")[0]["metadata"]["resourceVersion"]
    assert kube_client.apply(_quota("team-dev", "1")) == "unchanged"
    assert kube.objects("resourcequotas", "team-dev")[0]["metadata"]["resourceVersion"] == version
    assert kube_client.apply(_quota("team-dev", "2")) == "updated"
    assert kube.objects("resourcequotas", "team-dev")[0]["spec"]["hard"] == {"limits.cpu": "2"}


def test_namespace_labels_from_others_are_kept(kube_client: KubeClient, kube: Any) -> None:
    kube_client.apply(_ns("team-dev", team="a"))
    kube_client.merge_patch(KINDS["Namespace"], "team-dev", {"metadata": {"labels": {"istio-injection": "enabled"}}})
    assert kube_client.apply(_ns("team-dev", team="a", env="dev")) == "updated"
    (namespace,) = [ns for ns in kube.objects("namespaces") if ns["metadata"]["name"] == "team-dev"]
    labels = namespace["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled" and labels["env"] == "dev"


def test_rolebinding_role_change_recreates_the_binding(kube_client: KubeClient, kube: Any) -> None:
    kube_client.apply(_ns("team-dev"))

    def binding(role: str) -> dict[str, Any]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "b", "namespace": "team-dev"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u"}],
        }

    kube_client.apply(binding("view"))
    assert kube_client.apply(binding("edit")) == "updated"
    assert kube.objects("rolebindings", "team-dev")[0]["roleRef"]["name"] == "edit"


def test_errors_become_ours(kube_client: KubeClient, kube: Any) -> None:
    assert kube_client.get(KINDS["Namespace"], "missing") is None
    assert kube_client.delete(KINDS["Namespace"], "missing") is False
    with pytest.raises(KubeNotFound):
        kube_client.create(_quota("no-such-namespace", "1"))
    kube.fail_next(method="GET", resource="namespaces", status=503)
    with pytest.raises(KubeError) as failure:
        kube_client.get(KINDS["Namespace"], "x")
    assert isinstance(failure.value, DownstreamError) and failure.value.kube_status == 503


@pytest.mark.parametrize("name", ["team-dev\n", "Team-Dev", "t" * 64])
def test_invalid_namespace_is_kube_invalid(kube_client: KubeClient, kube: Any, name: str) -> None:
    with pytest.raises(KubeInvalid) as caught:
        kube_client.create(_ns(name))
    assert caught.value.kube_status == 422 and caught.value.reason == "Invalid"
    assert "metadata.name: Invalid value" in caught.value.message
    assert name not in [ns["metadata"]["name"] for ns in kube.objects("namespaces")]


def test_unreachable_api_is_a_downstream_error(tmp_path: Any) -> None:
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    from idp.clients.kubernetes import _api_client

    client = KubeClient(_api_client(Settings(kubeconfig=str(config))), timeout=2)
    with pytest.raises(KubeError, match="unreachable"):
        client.get(KINDS["Namespace"], "x")


def test_eks_token_is_a_presigned_sts_url_bound_to_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    token = eks_token("prod-cluster", region="eu-west-1")
    assert token.startswith("k8s-aws-v1.")
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert "prod-cluster" not in url  # the cluster is a signed header, not a query value
