"""The Kubernetes emulator, driven over real HTTP by the official ``kubernetes`` client."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from idp_local.emulators.kubernetes import KubernetesEmulator

MakeApi = Callable[..., client.ApiClient]
MERGE = "application/merge-patch+json"
GROUP = "argoproj.io"


def _status(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == exc.value.status
    return body


def _namespace(api: client.ApiClient, name: str, **labels: str) -> client.V1Namespace:
    meta = client.V1ObjectMeta(name=name, labels=labels or None)
    return client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=meta))


def _config_map(api: client.ApiClient, namespace: str, name: str, **labels: str) -> client.V1ConfigMap:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or None), data={"k": "v"})
    return client.CoreV1Api(api).create_namespaced_config_map(namespace, body)


# namespaces, create, errors -------------------------------------------------------------------
def test_namespace_crud_and_cascade_delete(kube: KubernetesEmulator, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = _namespace(api, "team-a-dev", tenant="team-a")
    assert created.status.phase == "Active"
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.metadata.labels == {"tenant": "team-a", "kubernetes.io/metadata.name": "team-a-dev"}
    _config_map(api, "team-a-dev", "settings")
    assert core.read_namespaced_config_map("settings", "team-a-dev").data == {"k": "v"}
    names = [n.metadata.name for n in core.list_namespace().items]
    assert "team-a-dev" in names and "default" in names

    core.delete_namespace("team-a-dev")
    assert kube.objects("configmaps", "team-a-dev") == []
    with pytest.raises(ApiException) as exc:
        core.read_namespace("team-a-dev")
    assert exc.value.status == 404
    assert _status(exc)["details"] == {"name": "team-a-dev", "kind": "namespaces"}
    with pytest.raises(ApiException) as exc:  # a namespace that does not exist: the object is not found
        core.read_namespaced_config_map("settings", "team-a-dev")
    assert _status(exc)["message"] == 'configmaps "settings" not found'


def test_create_in_missing_namespace_is_404(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as exc:
        _config_map(api, "nope", "settings")
    assert exc.value.status == 404
    status = _status(exc)
    assert status["reason"] == "NotFound"
    assert status["message"] == 'namespaces "nope" not found'


def test_duplicate_is_409_already_exists(api: client.ApiClient) -> None:
    _namespace(api, "dup")
    with pytest.raises(ApiException) as exc:
        _namespace(api, "dup")
    assert exc.value.status == 409
    assert _status(exc)["reason"] == "AlreadyExists"


@pytest.mark.parametrize(
    ("kind", "name"),
    [("namespace", "Bad_Name"), ("namespace", "a" * 64), ("namespace", "has.dot"), ("configmap", "-bad")],
)
def test_bad_name_is_422_invalid(api: client.ApiClient, kind: str, name: str) -> None:
    _namespace(api, "ok")
    with pytest.raises(ApiException) as exc:
        if kind == "namespace":
            _namespace(api, name)
        else:
            _config_map(api, "ok", name)
    assert exc.value.status == 422
    status = _status(exc)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


_LABEL_HELP = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end"
    " with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is"
    " '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start"
    " and end with an alphanumeric character (e.g. 'example.com', regex used for validation is"
    " '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_TOO_LONG = "must be no more than 63 characters"


def _invalid_name_status(kind: str, name: str, *errors: str) -> dict[str, Any]:
    """The Status a real API server answers for an invalid metadata.name (Go quotes names with %q)."""
    causes = [
        {"reason": "FieldValueInvalid", "message": f"Invalid value: {json.dumps(name)}: {e}", "field": "metadata.name"}
        for e in errors
    ]
    parts = [f"metadata.name: {c['message']}" for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"{kind} {json.dumps(name)} is invalid: {summary}",
        "reason": "Invalid",
        "details": {"name": name, "kind": kind, "causes": causes},
        "code": 422,
    }


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("dev\n", [_LABEL_HELP]),  # Python's `$` would accept it; the API server's Go regex does not
        ("Bad", [_LABEL_HELP]),
        ("a" * 64, [_TOO_LONG]),
        ("A" * 64, [_TOO_LONG, _LABEL_HELP]),  # length first, as the API server reports it
        ("has.dot", ["must not contain dots"]),
    ],
    ids=["trailing-newline", "upper-case", "64-chars", "64-upper", "dot"],
)
def test_invalid_namespace_name_is_422_with_the_api_servers_status(
    kube: KubernetesEmulator, name: str, errors: list[str]
) -> None:
    answer = requests.post(f"{kube.url}/api/v1/namespaces", json={"metadata": {"name": name}}, timeout=5)
    assert answer.status_code == 422
    assert answer.json() == _invalid_name_status("Namespace", name, *errors)
    assert name not in [n["metadata"]["name"] for n in kube.objects("namespaces")]


@pytest.mark.parametrize(
    ("plural", "kind"),
    [("configmaps", "ConfigMap"), ("resourcequotas", "ResourceQuota"), ("serviceaccounts", "ServiceAccount")],
)
@pytest.mark.parametrize("name", ["settings\n", "Settings", "-settings", "settings."])
def test_invalid_subdomain_name_is_422(kube: KubernetesEmulator, plural: str, kind: str, name: str) -> None:
    requests.post(f"{kube.url}/api/v1/namespaces", json={"metadata": {"name": "team-dev"}}, timeout=5)
    answer = requests.post(
        f"{kube.url}/api/v1/namespaces/team-dev/{plural}", json={"metadata": {"name": name}}, timeout=5
    )
    assert answer.status_code == 422
    assert answer.json() == _invalid_name_status(kind, name, _SUBDOMAIN_HELP)
    assert kube.objects(plural, "team-dev") == []


def test_valid_names_are_still_created(kube: KubernetesEmulator) -> None:
    url = f"{kube.url}/api/v1/namespaces"
    for name in ("team-dev", "a" * 63, "0-9"):
        assert requests.post(url, json={"metadata": {"name": name}}, timeout=5).status_code == 201, name
    # Subdomain kinds take dots and up to 253 characters; ServiceAccounts are subdomains too (not labels).
    for plural, name in (("configmaps", "app.settings"), ("serviceaccounts", "ci.bot"), ("secrets", "s" * 253)):
        made = requests.post(f"{url}/team-dev/{plural}", json={"metadata": {"name": name}}, timeout=5)
        assert made.status_code == 201, made.text
    too_long = requests.post(f"{url}/team-dev/configmaps", json={"metadata": {"name": "c" * 254}}, timeout=5)
    assert too_long.status_code == 422
    assert too_long.json()["details"]["causes"][0]["message"].endswith("must be no more than 253 characters")


def test_rbac_names_are_path_segments(kube: KubernetesEmulator) -> None:
    url = f"{kube.url}/apis/rbac.authorization.k8s.io/v1/clusterroles"
    assert requests.post(url, json={"metadata": {"name": "System:Aggregate"}}, timeout=5).status_code == 201
    for name, error in (("a/b", "may not contain '/'"), ("a%b", "may not contain '%'"), ("..", "may not be '..'")):
        answer = requests.post(url, json={"metadata": {"name": name}}, timeout=5)
        assert answer.status_code == 422, name
        message = f'ClusterRole.rbac.authorization.k8s.io "{name}" is invalid: metadata.name: Invalid value: "{name}": '
        assert answer.json()["message"] == message + error


def test_a_namespace_in_the_path_must_exist_so_an_invalid_one_is_404(kube: KubernetesEmulator) -> None:
    # As the real API server (NamespaceLifecycle admission runs before validation): an invalid
    # namespace can never have been created, so the request is refused as for any missing one.
    answer = requests.post(
        f"{kube.url}/api/v1/namespaces/dev%0A/configmaps", json={"metadata": {"name": "cm"}}, timeout=5
    )
    assert answer.status_code == 404
    assert answer.json()["message"] == 'namespaces "dev\\n" not found'


def test_replace_refuses_a_name_that_differs_from_the_url(kube: KubernetesEmulator) -> None:
    url = f"{kube.url}/api/v1/namespaces"
    requests.post(url, json={"metadata": {"name": "team-dev"}}, timeout=5)
    requests.post(f"{url}/team-dev/configmaps", json={"metadata": {"name": "cm"}}, timeout=5)
    for name in ("other", "cm\n", "CM"):
        answer = requests.put(f"{url}/team-dev/configmaps/cm", json={"metadata": {"name": name}}, timeout=5)
        assert (answer.status_code, answer.json()["reason"]) == (400, "BadRequest"), name
        assert answer.json()["message"] == f"the name of the object ({name}) does not match the name on the URL (cm)"
    # A PUT to the invalid name itself finds nothing: it can never have been created.
    missing = requests.put(f"{url}/team-dev/configmaps/cm%0A", json={"metadata": {"name": "cm\n"}}, timeout=5)
    assert missing.status_code == 404


def test_generate_name_and_missing_name(api: client.ApiClient) -> None:
    _namespace(api, "gen")
    core = client.CoreV1Api(api)
    made = core.create_namespaced_secret("gen", client.V1Secret(metadata=client.V1ObjectMeta(generate_name="tok-")))
    assert made.metadata.name.startswith("tok-") and len(made.metadata.name) == 9
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret("gen", client.V1Secret(metadata=client.V1ObjectMeta()))
    assert exc.value.status == 422
    assert _status(exc)["details"]["causes"][0]["reason"] == "FieldValueRequired"


def test_body_namespace_and_kind_must_match_the_path(kube: KubernetesEmulator) -> None:
    requests.post(f"{kube.url}/api/v1/namespaces", json={"metadata": {"name": "a"}}, timeout=5)
    body = {"metadata": {"name": "cm", "namespace": "b"}}
    answer = requests.post(f"{kube.url}/api/v1/namespaces/a/configmaps", json=body, timeout=5)
    assert (answer.status_code, answer.json()["reason"]) == (400, "BadRequest")
    body = {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
    answer = requests.post(f"{kube.url}/api/v1/namespaces/a/configmaps", json=body, timeout=5)
    assert answer.status_code == 400 and "does not match the expected API version" in answer.json()["message"]


def test_secret_string_data_is_stored_as_data(api: client.ApiClient) -> None:
    _namespace(api, "s")
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="creds"), string_data={"password": "hunter2"})
    made = client.CoreV1Api(api).create_namespaced_secret("s", body)
    assert made.data == {"password": "aHVudGVyMg=="} and made.type == "Opaque" and made.string_data is None


# updates: patches, resourceVersion, generation --------------------------------------------------
def test_merge_patch_and_json_patch(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    _namespace(api, "p")
    _config_map(api, "p", "cm", app="web")
    merged = core.patch_namespaced_config_map(
        "cm", "p", {"metadata": {"labels": {"app": None, "tier": "db"}}, "data": {"n": "1"}}, _content_type=MERGE
    )
    assert merged.metadata.labels == {"tier": "db"} and merged.data == {"k": "v", "n": "1"}

    operations = [
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "w"},
        {"op": "add", "path": "/metadata/labels/a~1b", "value": "x"},
        {"op": "move", "from": "/data/n", "path": "/data/m"},
        {"op": "copy", "from": "/data/m", "path": "/data/c"},
        {"op": "remove", "path": "/metadata/labels/tier"},
    ]
    patched = core.patch_namespaced_config_map("cm", "p", operations)  # a list goes out as json-patch+json
    assert patched.data == {"k": "w", "m": "1", "c": "1"}
    assert patched.metadata.labels == {"a/b": "x"}

    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("cm", "p", [{"op": "test", "path": "/data/k", "value": "nope"}])
    assert exc.value.status == 422
    assert core.read_namespaced_config_map("cm", "p").data["k"] == "w"

    strategic = core.patch_namespaced_config_map("cm", "p", {"data": {"s": "1"}})  # a dict: strategic merge
    assert strategic.data["s"] == "1"


def test_noop_writes_keep_resource_version(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    _namespace(api, "q")
    quota = core.create_namespaced_resource_quota(
        "q", client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="quota"), spec={"hard": {"pods": "10"}})
    )
    rv, generation = quota.metadata.resource_version, quota.metadata.generation
    assert generation == 1

    same = core.patch_namespaced_resource_quota("quota", "q", {"spec": {"hard": {"pods": "10"}}}, _content_type=MERGE)
    assert same.metadata.resource_version == rv
    assert core.replace_namespaced_resource_quota("quota", "q", same).metadata.resource_version == rv
    labelled = core.patch_namespaced_resource_quota(
        "quota", "q", {"metadata": {"labels": {"a": "b"}}}, _content_type=MERGE
    )
    assert int(labelled.metadata.resource_version) > int(rv) and labelled.metadata.generation == 1
    changed = core.patch_namespaced_resource_quota(
        "quota", "q", {"spec": {"hard": {"pods": "20"}}}, _content_type=MERGE
    )
    assert changed.metadata.generation == 2


def test_put_with_stale_resource_version_is_409(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    _namespace(api, "c")
    stale = _config_map(api, "c", "cm")
    fresh = core.read_namespaced_config_map("cm", "c")
    fresh.data = {"k": "new"}
    core.replace_namespaced_config_map("cm", "c", fresh)
    stale.data = {"k": "lost update"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("cm", "c", stale)
    assert exc.value.status == 409
    assert _status(exc)["reason"] == "Conflict"
    with pytest.raises(ApiException) as exc:
        missing = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="missing"))
        core.replace_namespaced_config_map("missing", "c", missing)
    assert exc.value.status == 404


def test_status_subresource_updates_only_status(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    _namespace(api, "d")
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
        },
        "status": {"readyReplicas": 5},
    }
    made = apps.create_namespaced_deployment("d", body)
    assert made.status.ready_replicas is None  # clients cannot set status on create
    updated = apps.patch_namespaced_deployment_status(
        "web", "d", {"status": {"readyReplicas": 1}, "spec": {"replicas": 9}}, _content_type=MERGE
    )
    assert updated.status.ready_replicas == 1 and updated.spec.replicas == 1
    again = apps.patch_namespaced_deployment("web", "d", {"status": {"readyReplicas": 0}}, _content_type=MERGE)
    assert again.status.ready_replicas == 1


# queries ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web,tier=front", ["a"]),
        ("app!=web", ["c", "d"]),
        ("tier in (front,back)", ["a", "b"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app in (web, db), !tier", ["c"]),
        ("app notin (web),app", ["c"]),
        ("app=db,tier notin (x)", ["c"]),
    ],
)
def test_label_selectors(api: client.ApiClient, selector: str, expected: list[str]) -> None:
    _namespace(api, "l")
    _config_map(api, "l", "a", app="web", tier="front")
    _config_map(api, "l", "b", app="web", tier="back")
    _config_map(api, "l", "c", app="db")
    _config_map(api, "l", "d")
    found = client.CoreV1Api(api).list_namespaced_config_map("l", label_selector=selector)
    assert [cm.metadata.name for cm in found.items] == expected


def test_bad_selectors_are_400(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for label_selector in ("app in (x", "a b", "=x", "app=we b"):
        with pytest.raises(ApiException) as exc:
            core.list_namespaced_config_map("default", label_selector=label_selector)
        assert exc.value.status == 400, label_selector
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map("default", field_selector="spec.nope=1")
    assert exc.value.status == 400


def test_list_across_namespaces_and_field_selectors(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for ns in ("x1", "x2"):
        _namespace(api, ns)
        _config_map(api, ns, "shared")
    _config_map(api, "x2", "only")
    everywhere = core.list_config_map_for_all_namespaces()
    assert everywhere.kind == "ConfigMapList" and everywhere.metadata.resource_version
    assert [(c.metadata.namespace, c.metadata.name) for c in everywhere.items] == [
        ("x1", "shared"),
        ("x2", "only"),
        ("x2", "shared"),
    ]
    named = core.list_config_map_for_all_namespaces(field_selector="metadata.name=shared")
    assert [c.metadata.namespace for c in named.items] == ["x1", "x2"]
    in_x2 = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=x2,metadata.name!=shared")
    assert [c.metadata.name for c in in_x2.items] == ["only"]
    page = core.list_namespaced_config_map("x2", limit=1)
    assert len(page.items) == 1 and page.metadata._continue
    rest = core.list_namespaced_config_map("x2", limit=1, _continue=page.metadata._continue)
    assert [c.metadata.name for c in page.items + rest.items] == ["only", "shared"]


# RBAC ------------------------------------------------------------------------------------------
def test_role_binding_role_ref_is_immutable(api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    _namespace(api, "r")
    binding = client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="owners"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="admin"),
        subjects=[client.RbacV1Subject(kind="User", name="alice", api_group="rbac.authorization.k8s.io")],
    )
    made = rbac.create_namespaced_role_binding("r", binding)
    made.role_ref.name = "edit"
    with pytest.raises(ApiException) as exc:
        rbac.replace_namespaced_role_binding("owners", "r", made)
    assert exc.value.status == 422
    assert "cannot change roleRef" in _status(exc)["message"]
    with pytest.raises(ApiException) as exc:
        rbac.patch_namespaced_role_binding("owners", "r", {"roleRef": {"name": "view"}}, _content_type=MERGE)
    assert exc.value.status == 422
    subjects = {"subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]}
    assert rbac.patch_namespaced_role_binding("owners", "r", subjects, _content_type=MERGE).subjects[0].name == "bob"
    admin = client.V1ClusterRole(metadata=client.V1ObjectMeta(name="system:aggregate-to-admin"))
    assert rbac.create_cluster_role(admin).metadata.name == "system:aggregate-to-admin"


# custom resources ------------------------------------------------------------------------------
def _app_project_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"appprojects.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": "AppProject", "plural": "appprojects", "singular": "appproject"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def test_crd_registers_custom_resources(kube: KubernetesEmulator, api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    _namespace(api, "argocd")
    project = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a"},
        "spec": {"sourceRepos": ["https://github.com/org/team-a"]},
    }
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object(GROUP, "v1alpha1", "argocd", "appprojects", project)
    assert exc.value.status == 404

    crd = client.ApiextensionsV1Api(api).create_custom_resource_definition(_app_project_crd())
    assert {c.type for c in crd.status.conditions} == {"Established", "NamesAccepted"}
    created = custom.create_namespaced_custom_object(GROUP, "v1alpha1", "argocd", "appprojects", project)
    assert created["metadata"]["namespace"] == "argocd" and created["metadata"]["uid"]
    got = custom.get_namespaced_custom_object(GROUP, "v1alpha1", "argocd", "appprojects", "team-a")
    assert got["spec"] == project["spec"] and got["kind"] == "AppProject"
    patched = custom.patch_namespaced_custom_object(
        GROUP, "v1alpha1", "argocd", "appprojects", "team-a", {"spec": {"description": "A"}}
    )
    assert patched["spec"]["description"] == "A"
    listed = custom.list_namespaced_custom_object(GROUP, "v1alpha1", "argocd", "appprojects")
    assert listed["kind"] == "AppProjectList" and [i["metadata"]["name"] for i in listed["items"]] == ["team-a"]
    resources = requests.get(f"{kube.url}/apis/{GROUP}/v1alpha1", timeout=5).json()["resources"]
    assert [(r["name"], r["kind"], r["namespaced"]) for r in resources] == [("appprojects", "AppProject", True)]

    client.ApiextensionsV1Api(api).delete_custom_resource_definition(f"appprojects.{GROUP}")
    with pytest.raises(ApiException) as exc:
        custom.get_namespaced_custom_object(GROUP, "v1alpha1", "argocd", "appprojects", "team-a")
    assert exc.value.status == 404


def test_crd_name_must_be_plural_dot_group(api: client.ApiClient) -> None:
    crd = _app_project_crd()
    crd["metadata"]["name"] = "projects.argoproj.io"
    with pytest.raises(ApiException) as exc:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    assert exc.value.status == 422


# TokenRequest ----------------------------------------------------------------------------------
def _token_request(audiences: list[str], seconds: int | None = None, secret: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"audiences": audiences}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    if secret:
        spec["boundObjectRef"] = {"kind": "Secret", "apiVersion": "v1", "name": secret}
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def test_token_request_validation_and_revocation(
    secured: KubernetesEmulator, admin_token: str, make_api: MakeApi
) -> None:
    admin = client.CoreV1Api(make_api(secured, admin_token))
    admin.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="t")))
    admin.create_namespaced_service_account("t", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="alice")))
    admin.create_namespaced_secret("t", client.V1Secret(metadata=client.V1ObjectMeta(name="alice-binding")))

    for bad in (_token_request([]), _token_request(["api"], seconds=599)):
        with pytest.raises(ApiException) as exc:
            admin.create_namespaced_service_account_token("alice", "t", bad)
        assert exc.value.status == 422
    with pytest.raises(ApiException) as exc:
        admin.create_namespaced_service_account_token("alice", "t", _token_request(["api"], secret="missing"))
    assert exc.value.status == 404
    with pytest.raises(ApiException) as exc:
        admin.create_namespaced_service_account_token("bob", "t", _token_request(["api"]))
    assert exc.value.status == 404

    issued = admin.create_namespaced_service_account_token(
        "alice", "t", _token_request(["api"], seconds=600, secret="alice-binding")
    )
    token = issued.status.token
    assert token and issued.status.expiration_timestamp and issued.spec.expiration_seconds == 600
    as_alice = client.CoreV1Api(make_api(secured, token))
    assert as_alice.read_namespace("t").metadata.name == "t"
    default_expiry = admin.create_namespaced_service_account_token("alice", "t", _token_request(["api"]))
    assert default_expiry.spec.expiration_seconds == 3600

    admin.delete_namespaced_secret("alice-binding", "t")
    with pytest.raises(ApiException) as exc:
        as_alice.read_namespace("t")
    assert exc.value.status == 401
    unbound = client.CoreV1Api(make_api(secured, default_expiry.status.token))
    assert unbound.read_namespace("t").metadata.name == "t"
    admin.delete_namespaced_service_account("alice", "t")
    with pytest.raises(ApiException) as exc:
        unbound.read_namespace("t")
    assert exc.value.status == 401


# faults, auth, controls, discovery -------------------------------------------------------------
def test_fault_injection(kube: KubernetesEmulator, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    _namespace(api, "f")
    quota = client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="quota"), spec={"hard": {"pods": "1"}})
    kube.fail_next(resource="resourcequotas", status=503)
    _config_map(api, "f", "unaffected")
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_resource_quota("f", quota)
    assert exc.value.status == 503
    assert _status(exc)["reason"] == "ServiceUnavailable"
    assert core.create_namespaced_resource_quota("f", quota).metadata.name == "quota"

    fault = {"method": "DELETE", "resource": "resourcequotas", "status": 500, "count": 2, "message": "etcd"}
    assert requests.post(f"{kube.url}/_emulator/faults", json=fault, timeout=5).status_code == 201
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            core.delete_namespaced_resource_quota("quota", "f")
        assert (exc.value.status, _status(exc)["message"]) == (500, "etcd")
    core.delete_namespaced_resource_quota("quota", "f")


def test_bearer_token_required_when_set(
    secured: KubernetesEmulator, admin_token: str, make_api: MakeApi, tmp_path: Path
) -> None:
    for api_client in (make_api(secured), make_api(secured, "wrong")):
        with pytest.raises(ApiException) as exc:
            client.CoreV1Api(api_client).list_namespace()
        assert exc.value.status == 401
        assert _status(exc)["reason"] == "Unauthorized"
    assert requests.get(f"{secured.url}/version", timeout=5).status_code == 401

    kubeconfig = secured.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    loaded = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=loaded)
    with client.ApiClient(loaded) as api_client:
        assert "default" in [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
    objects = requests.get(f"{secured.url}/_emulator/objects", params={"resource": "namespaces"}, timeout=5)
    assert objects.status_code == 200  # the controls need no token


def test_http_controls(kube: KubernetesEmulator, api: client.ApiClient) -> None:
    _namespace(api, "h")
    _config_map(api, "h", "cm")
    listed = requests.get(
        f"{kube.url}/_emulator/objects", params={"resource": "configmaps", "namespace": "h"}, timeout=5
    ).json()
    assert [(o["kind"], o["metadata"]["name"]) for o in listed] == [("ConfigMap", "cm")]
    assert requests.post(f"{kube.url}/_emulator/reset", timeout=5).status_code == 200
    assert kube.objects("configmaps") == []
    assert sorted(n["metadata"]["name"] for n in kube.objects("namespaces")) == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]


def test_discovery_and_unknown_paths(kube: KubernetesEmulator) -> None:
    core = requests.get(f"{kube.url}/api/v1", timeout=5).json()
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] and not by_name["namespaces"]["namespaced"]
    assert by_name["serviceaccounts/token"]["kind"] == "TokenRequest"
    groups = {g["name"] for g in requests.get(f"{kube.url}/apis", timeout=5).json()["groups"]}
    assert {"apps", "rbac.authorization.k8s.io", "networking.k8s.io", "batch", "apiextensions.k8s.io"} <= groups
    assert requests.get(f"{kube.url}/api", timeout=5).json()["versions"] == ["v1"]
    assert requests.get(f"{kube.url}/version", timeout=5).json()["major"] == "1"
    assert requests.get(f"{kube.url}/api/v1/widgets", timeout=5).status_code == 404
    assert requests.get(f"{kube.url}/apis/example.com/v1/things", timeout=5).status_code == 404
    answer = requests.put(f"{kube.url}/api/v1/namespaces", json={}, timeout=5)
    assert (answer.status_code, answer.json()["reason"]) == (405, "MethodNotAllowed")
    answer = requests.patch(
        f"{kube.url}/api/v1/namespaces/default",
        data="{}",
        timeout=5,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert answer.status_code == 415
