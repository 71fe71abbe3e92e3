"""The only module that imports `kubernetes`.

It talks to any kind through the official client's generic request path
(`ApiClient.param_serialize` + `call_api`), so we get the library's config loading, auth,
TLS and retries without paying for model deserialisation, and translates every failure
into our `KubeError` family. The library is imported on first use: a function that never
touches Kubernetes never pays its ~1.3 s import.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from idp.errors import DownstreamError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from idp.config import Settings

__all__ = [
    "KINDS",
    "ApplyOutcome",
    "Kind",
    "KubeClient",
    "KubeConflict",
    "KubeError",
    "KubeInvalid",
    "KubeNotFound",
    "eks_token",
    "kube_client_from_settings",
]


class KubeError(DownstreamError):
    """Kubernetes answered an error or could not be reached."""

    code = "kubernetes_error"

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message, details={"kubernetes_status": status, "reason": reason})
        self.kube_status = status
        self.reason = reason


class KubeNotFound(KubeError):
    pass


class KubeConflict(KubeError):
    pass


class KubeInvalid(KubeError):
    pass


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind("v1", "Namespace", "namespaces", False),
        Kind("v1", "ResourceQuota", "resourcequotas", True),
        Kind("v1", "LimitRange", "limitranges", True),
        Kind("v1", "ServiceAccount", "serviceaccounts", True),
        Kind("v1", "Secret", "secrets", True),
        Kind("v1", "Event", "events", True),
        Kind("v1", "Pod", "pods", True),
        Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True),
        Kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
        Kind("rbac.authorization.k8s.io/v1", "Role", "roles", True),
        Kind("apps/v1", "Deployment", "deployments", True),
    )
}

ApplyOutcome = Literal["created", "updated", "unchanged"]

# Fields the server owns; copied from the live object when we replace it.
_SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


class KubeClient:
    """Generic CRUD and idempotent apply over the official client's ApiClient."""

    def __init__(self, api_client: ApiClient, *, timeout: float = 10.0) -> None:
        self._api = api_client
        self._timeout = timeout

    # -- raw requests -------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        import urllib3.exceptions
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            params = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(*params, _request_timeout=self._timeout)
            response.read()
        except ApiException as exc:  # raised by the REST layer for transport-level problems
            raise KubeError(f"Kubernetes request failed: {exc.reason}", status=exc.status) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(
                f"Kubernetes API unreachable ({type(exc).__name__})", status=None, reason="Unavailable"
            ) from exc
        status = response.status
        payload: dict[str, Any] = {}
        if response.data:
            try:
                payload = json.loads(response.data)
            except ValueError:
                payload = {"message": response.data[:200].decode(errors="replace")}
        if 200 <= status < 300:
            return payload
        message = str(payload.get("message") or f"HTTP {status}")
        reason = payload.get("reason")
        error_type: type[KubeError] = {404: KubeNotFound, 409: KubeConflict, 422: KubeInvalid}.get(status, KubeError)
        raise error_type(f"Kubernetes {method} {path}: {message}", status=status, reason=reason)

    # -- typed-by-kind helpers ----------------------------------------------------
    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.request("GET", kind.path(namespace, name))
        except KubeNotFound:
            return None

    def list(
        self, kind: Kind, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        items = self.request("GET", kind.path(namespace), query=query).get("items") or []
        return list(items)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = kind_of(obj)
        return self.request("POST", kind.path(_namespace(obj)), body=obj)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = kind_of(obj)
        return self.request("PUT", kind.path(_namespace(obj), obj["metadata"]["name"]), body=obj)

    def merge_patch(self, kind: Kind, name: str, patch: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        return self.request(
            "PATCH", kind.path(namespace, name), body=patch, content_type="application/merge-patch+json"
        )

    def delete(self, kind: Kind, name: str, namespace: str | None = None) -> bool:
        """Deletes; False when it was already gone (deleting is idempotent)."""
        try:
            self.request("DELETE", kind.path(namespace, name))
        except KubeNotFound:
            return False
        return True

    def apply(self, obj: dict[str, Any]) -> ApplyOutcome:
        """Create-or-update to exactly `obj`'s content; safe to repeat.

        Namespaces get their labels merged (others may label them too). Objects the
        platform owns are replaced wholesale, so drift inside them is repaired; an
        immutable field (a RoleBinding's roleRef) is handled by delete and re-create.
        """
        kind = kind_of(obj)
        name, namespace = obj["metadata"]["name"], _namespace(obj)
        live = self.get(kind, name, namespace)
        if live is None:
            try:
                self.create(obj)
                return "created"
            except KubeConflict:  # created concurrently: fall through to update it
                live = self.get(kind, name, namespace)
                if live is None:
                    raise
        if kind.kind == "Namespace":
            wanted = obj["metadata"].get("labels") or {}
            have = live["metadata"].get("labels") or {}
            if all(have.get(k) == v for k, v in wanted.items()):
                return "unchanged"
            self.merge_patch(kind, name, {"metadata": {"labels": wanted}})
            return "updated"
        if kind.kind == "RoleBinding" and live.get("roleRef") != obj.get("roleRef"):
            self.delete(kind, name, namespace)
            self.create(obj)
            return "updated"
        body = _merged_for_replace(obj, live)
        if _same_content(body, live):
            return "unchanged"
        self.replace(body)
        return "updated"


def kind_of(obj: dict[str, Any]) -> Kind:
    kind = KINDS.get(str(obj.get("kind")))
    if kind is None or kind.api_version != obj.get("apiVersion"):
        raise ValueError(f"unsupported kind {obj.get('apiVersion')}/{obj.get('kind')}")
    return kind


def _namespace(obj: dict[str, Any]) -> str | None:
    namespace = obj.get("metadata", {}).get("namespace")
    return str(namespace) if namespace else None


def _merged_for_replace(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(desired))
    meta = body["metadata"]
    live_meta = live.get("metadata", {})
    for field in _SERVER_METADATA:
        if field in live_meta:
            meta[field] = live_meta[field]
    meta["labels"] = {**(live_meta.get("labels") or {}), **(meta.get("labels") or {})}
    annotations = {**(live_meta.get("annotations") or {}), **(meta.get("annotations") or {})}
    if annotations:
        meta["annotations"] = annotations
    if "status" in live:
        body["status"] = live["status"]
    return body


def _same_content(body: dict[str, Any], live: dict[str, Any]) -> bool:
    def strip(obj: dict[str, Any]) -> dict[str, Any]:
        copy = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
        meta = obj.get("metadata", {})
        copy["metadata"] = {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": meta.get("labels") or {},
            "annotations": meta.get("annotations") or {},
        }
        return copy

    return strip(body) == strip(live)


# -- building a client ------------------------------------------------------------
_client: KubeClient | None = None
_client_lock = threading.Lock()


def kube_client_from_settings(settings: Settings) -> KubeClient:
    """One client per container, built from the configured mode."""
    global _client
    with _client_lock:
        if _client is None:
            _client = KubeClient(_api_client(settings), timeout=settings.kubernetes_timeout_seconds)
        return _client


def reset_kube_client() -> None:
    global _client
    with _client_lock:
        _client = None


def _api_client(settings: Settings) -> ApiClient:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    configuration = k8s.Configuration()
    if settings.kubernetes_mode == "incluster":
        k8s_config.load_incluster_config(client_configuration=configuration)
    elif settings.kubernetes_mode == "eks":
        if not (settings.eks_cluster_name and settings.eks_endpoint):
            raise RuntimeError("EKS mode needs EKS_CLUSTER_NAME and EKS_ENDPOINT")
        configuration.host = settings.eks_endpoint
        if settings.eks_ca_data:
            with tempfile.NamedTemporaryFile(prefix="eks-ca-", suffix=".crt", delete=False) as ca_file:
                ca_file.write(base64.b64decode(settings.eks_ca_data))
            configuration.ssl_ca_cert = ca_file.name
        cluster = settings.eks_cluster_name
        issued = {"at": 0.0}

        def refresh(config: Any) -> None:
            # EKS tokens live 15 minutes; renew well before.
            if time.monotonic() - issued["at"] > 600:
                config.api_key["BearerToken"] = eks_token(cluster)
                issued["at"] = time.monotonic()

        configuration.api_key_prefix["BearerToken"] = "Bearer"
        hooks: Any = configuration  # the client annotates this hook attribute as None
        hooks.refresh_api_key_hook = refresh
    else:
        k8s_config.load_kube_config(
            config_file=settings.kubeconfig or os.environ.get("KUBECONFIG"),
            context=settings.kube_context,
            client_configuration=configuration,
        )
    configuration.retries = 1
    return k8s.ApiClient(configuration)


def eks_token(cluster_name: str, *, region: str | None = None) -> str:
    """`k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL with `x-k8s-aws-id`)."""
    import boto3

    sts = boto3.client("sts", region_name=region or os.environ.get("AWS_REGION", "us-east-1"))

    def take_cluster_id(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def add_cluster_header(request: Any, **_: Any) -> None:
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", take_cluster_id)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={"x-k8s-aws-id": cluster_name},
        ExpiresIn=60,
        HttpMethod="GET",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
