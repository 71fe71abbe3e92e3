"""The resource table: built-in kinds, kinds registered by CustomResourceDefinitions, discovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Registry", "ResourceType"]

Obj = dict[str, Any]

_STORED_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One plural resource served at one group/version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status: bool = False  # has a ``status`` subresource
    custom: bool = False  # registered by a CustomResourceDefinition
    virtual: bool = False  # create-only review API: answered, never stored
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects are shared by every served version of a resource."""
        return (self.group, self.plural)

    @property
    def verbs(self) -> list[str]:
        return ["create"] if self.virtual else list(_STORED_VERBS)

    def discovery(self) -> list[Obj]:
        entries: list[Obj] = [
            {
                "name": self.plural,
                "singularName": self.singular or self.kind.lower(),
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": self.verbs,
            }
        ]
        if self.short_names:
            entries[0]["shortNames"] = list(self.short_names)
        if self.status:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if self.key == ("", "serviceaccounts"):
            entries.append(
                {
                    "name": "serviceaccounts/token",
                    "singularName": "",
                    "namespaced": True,
                    "group": "authentication.k8s.io",
                    "version": "v1",
                    "kind": "TokenRequest",
                    "verbs": ["create"],
                }
            )
        return entries


# (group/version, plural, kind, namespaced, has status subresource, short names)
_BUILTINS: list[tuple[str, str, str, bool, bool, str]] = [
    ("v1", "namespaces", "Namespace", False, True, "ns"),
    ("v1", "nodes", "Node", False, True, "no"),
    ("v1", "persistentvolumes", "PersistentVolume", False, True, "pv"),
    ("v1", "pods", "Pod", True, True, "po"),
    ("v1", "services", "Service", True, True, "svc"),
    ("v1", "endpoints", "Endpoints", True, False, "ep"),
    ("v1", "configmaps", "ConfigMap", True, False, "cm"),
    ("v1", "secrets", "Secret", True, False, ""),
    ("v1", "serviceaccounts", "ServiceAccount", True, False, "sa"),
    ("v1", "resourcequotas", "ResourceQuota", True, True, "quota"),
    ("v1", "limitranges", "LimitRange", True, False, "limits"),
    ("v1", "events", "Event", True, False, "ev"),
    ("v1", "podtemplates", "PodTemplate", True, False, ""),
    ("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, True, "pvc"),
    ("v1", "replicationcontrollers", "ReplicationController", True, True, "rc"),
    ("apps/v1", "deployments", "Deployment", True, True, "deploy"),
    ("apps/v1", "statefulsets", "StatefulSet", True, True, "sts"),
    ("apps/v1", "daemonsets", "DaemonSet", True, True, "ds"),
    ("apps/v1", "replicasets", "ReplicaSet", True, True, "rs"),
    ("apps/v1", "controllerrevisions", "ControllerRevision", True, False, ""),
    ("batch/v1", "jobs", "Job", True, True, ""),
    ("batch/v1", "cronjobs", "CronJob", True, True, "cj"),
    ("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, True, "hpa"),
    ("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, True, "pdb"),
    ("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, False, "netpol"),
    ("networking.k8s.io/v1", "ingresses", "Ingress", True, True, "ing"),
    ("networking.k8s.io/v1", "ingressclasses", "IngressClass", False, False, ""),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True, False, ""),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True, False, ""),
    ("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False, False, ""),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False, False, ""),
    ("storage.k8s.io/v1", "storageclasses", "StorageClass", False, False, "sc"),
    ("coordination.k8s.io/v1", "leases", "Lease", True, False, ""),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False, True, "crd,crds"),
]

# Review APIs: a POST is answered with the object and a computed status; nothing is stored.
_VIRTUAL: list[tuple[str, str, str, bool]] = [
    ("authentication.k8s.io/v1", "tokenreviews", "TokenReview", False),
    ("authentication.k8s.io/v1", "selfsubjectreviews", "SelfSubjectReview", False),
    ("authorization.k8s.io/v1", "subjectaccessreviews", "SubjectAccessReview", False),
    ("authorization.k8s.io/v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    ("authorization.k8s.io/v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    ("authorization.k8s.io/v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True),
]


def _split_gv(group_version: str) -> tuple[str, str]:
    group, _, version = group_version.rpartition("/")
    return group, version


def _builtin_types() -> list[ResourceType]:
    types = []
    for gv, plural, kind, namespaced, status, short in _BUILTINS:
        group, version = _split_gv(gv)
        names = tuple(s for s in short.split(",") if s)
        types.append(ResourceType(group, version, plural, kind, namespaced, names, status))
    for gv, plural, kind, namespaced in _VIRTUAL:
        group, version = _split_gv(gv)
        types.append(ResourceType(group, version, plural, kind, namespaced, virtual=True))
    return types


def crd_types(crd: Obj) -> list[ResourceType]:
    """The resource types a (validated) CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        types.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                status="status" in (version.get("subresources") or {}),
                custom=True,
                singular=names.get("singular") or names["kind"].lower(),
            )
        )
    return types


class Registry:
    """Resource types by group/version/plural; not thread-safe (the store's lock guards it)."""

    def __init__(self) -> None:
        self._builtin = {(t.group, t.version, t.plural): t for t in _builtin_types()}
        self._custom: dict[str, list[ResourceType]] = {}  # CRD name -> its served types

    def clear_custom(self) -> None:
        self._custom.clear()

    def register(self, crd: Obj) -> None:
        self._custom[crd["metadata"]["name"]] = crd_types(crd)

    def unregister(self, crd_name: str) -> None:
        self._custom.pop(crd_name, None)

    def all_types(self) -> list[ResourceType]:
        types = list(self._builtin.values())
        for served in self._custom.values():
            types.extend(served)
        return types

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        found = self._builtin.get((group, version, plural))
        if found is not None:
            return found
        for served in self._custom.values():
            for t in served:
                if (t.group, t.version, t.plural) == (group, version, plural):
                    return t
        return None

    def storage_keys(self, plural: str, group: str | None = None) -> list[tuple[str, str]]:
        return sorted({t.key for t in self.all_types() if t.plural == plural and (group is None or t.group == group)})

    def versions(self, group: str) -> list[str]:
        seen: list[str] = []
        for t in self.all_types():
            if t.group == group and t.version not in seen:
                seen.append(t.version)
        return seen

    # discovery documents ------------------------------------------------------------------
    def api_group(self, group: str) -> Obj | None:
        versions = self.versions(group)
        if not versions:
            return None
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": listed,
            "preferredVersion": listed[0],
        }

    def api_group_list(self) -> Obj:
        groups: list[str] = []
        for t in self.all_types():
            if t.group and t.group not in groups:
                groups.append(t.group)
        found = [self.api_group(g) for g in groups]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [g for g in found if g]}

    def api_resource_list(self, group: str, version: str) -> Obj | None:
        served = [t for t in self.all_types() if (t.group, t.version) == (group, version)]
        if not served:
            return None
        resources: list[Obj] = []
        for t in sorted(served, key=lambda t: t.plural):
            resources.extend(t.discovery())
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }
