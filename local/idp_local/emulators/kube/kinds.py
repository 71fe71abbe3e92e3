"""What the API server does per kind: name rules, defaults, validation, initial status."""

from __future__ import annotations

import base64
import re
from typing import Any

from .errors import Cause, field_forbidden, field_invalid, field_required, field_unsupported
from .resources import ResourceType
from .selectors import label_key_error, label_value_error

__all__ = ["initial_status", "prepare", "validate_metadata"]

Obj = dict[str, Any]

# Always fullmatch: the API server's Go regexes are anchored with `^...$`, and Go's `$` is the
# end of the text, where Python's also matches before a trailing newline ("dev\n").
_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1035_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

_LABEL_HELP = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_HELP = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_IMMUTABLE = "field is immutable when `immutable` is set"
_RBAC_GROUP = "rbac.authorization.k8s.io"


def _name_errors(rt: ResourceType, name: str) -> list[str]:
    """metadata.name's errors, as the API server's per-kind name validators word them.

    The real rules (k8s.io/apimachinery validation, the kinds' ValidateXName):
    - Namespace: a DNS-1123 label (IsDNS1123Label: at most 63, no dots);
    - Service: a DNS-1035 label (starts with a letter);
    - RBAC kinds (Role, ClusterRole, RoleBinding, ClusterRoleBinding): a path segment
      (IsValidPathSegmentName: not '.' or '..', no '/' or '%'), so "system:aggregate-to-admin" is fine;
    - everything else, ServiceAccount included (ValidateServiceAccountName = NameIsDNSSubdomain),
      and custom resources: a DNS-1123 subdomain (at most 253).
    Length is reported before the pattern, as the API server does.
    """
    if rt.group == _RBAC_GROUP:
        if name in (".", ".."):
            return [f"may not be '{name}'"]
        return [f"may not contain '{c}'" for c in "/%" if c in name]
    if rt.key == ("", "namespaces"):
        errors = ["must be no more than 63 characters"] if len(name) > 63 else []
        if not _LABEL_RE.fullmatch(name):
            # A valid subdomain (length already checked) that is no label can only have dots.
            errors.append("must not contain dots" if _SUBDOMAIN_RE.fullmatch(name) else _LABEL_HELP)
        return errors
    if rt.key == ("", "services"):
        errors = ["must be no more than 63 characters"] if len(name) > 63 else []
        return errors + ([] if _DNS1035_RE.fullmatch(name) else [_DNS1035_HELP])
    errors = ["must be no more than 253 characters"] if len(name) > 253 else []
    return errors + ([] if _SUBDOMAIN_RE.fullmatch(name) else [_SUBDOMAIN_HELP])


def validate_metadata(rt: ResourceType, obj: Obj) -> list[Cause]:
    meta = obj["metadata"]
    name = meta.get("name")
    if not name:
        return [field_required("metadata.name", "name or generateName is required")]
    causes = [field_invalid("metadata.name", name, e) for e in _name_errors(rt, name)]
    labels = meta.get("labels")
    if labels is not None and not isinstance(labels, dict):
        causes.append(field_invalid("metadata.labels", labels, "must be a map of strings"))
    for key, value in (labels or {}).items():
        if not isinstance(value, str):
            causes.append(field_invalid(f"metadata.labels.{key}", value, "must be a string"))
            continue
        key_error = label_key_error(key)
        if key_error:
            causes.append(field_invalid("metadata.labels", key, key_error))
        value_error = label_value_error(value)
        if value_error:
            causes.append(field_invalid("metadata.labels", value, value_error))
    return causes


def initial_status(rt: ResourceType, obj: Obj) -> None:
    """Status on create: the API server clears what clients send and sets its own."""
    if not rt.status or rt.key == ("", "nodes"):
        return
    if rt.custom:
        obj.pop("status", None)
        return
    phases = {
        "namespaces": "Active",
        "pods": "Pending",
        "persistentvolumeclaims": "Pending",
        "persistentvolumes": "Pending",
    }
    phase = phases.get(rt.plural) if rt.group == "" else None
    obj["status"] = {"phase": phase} if phase else {}


def prepare(rt: ResourceType, obj: Obj, old: Obj | None) -> list[Cause]:
    """Apply defaults and kind rules to ``obj`` (``old`` is the stored object on update)."""
    if rt.key == ("", "namespaces"):
        name = obj["metadata"]["name"]
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        return []
    if rt.key in (("", "secrets"), ("", "configmaps")):
        return _data_object(rt, obj, old)
    if rt.group == _RBAC_GROUP and rt.plural in ("rolebindings", "clusterrolebindings"):
        return _role_binding(obj, old)
    if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        return _crd(obj, old)
    return []


def _data_object(rt: ResourceType, obj: Obj, old: Obj | None) -> list[Cause]:
    if rt.plural == "secrets":
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")
        if old is not None and obj["type"] != old.get("type", "Opaque"):
            return [field_invalid("type", obj["type"], "field is immutable")]
    if old is None or not old.get("immutable"):
        return []
    causes = []
    if not obj.get("immutable"):
        causes.append(field_forbidden("immutable", _IMMUTABLE))
    for field in ("data", "binaryData"):
        if obj.get(field) != old.get(field):
            causes.append(field_forbidden(field, _IMMUTABLE))
    return causes


def _role_binding(obj: Obj, old: Obj | None) -> list[Cause]:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        return [field_required("roleRef.name")]
    causes = []
    if not ref.get("name"):
        causes.append(field_required("roleRef.name"))
    if ref.get("apiGroup") != _RBAC_GROUP:
        causes.append(field_unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [_RBAC_GROUP]))
    allowed = ["Role", "ClusterRole"] if obj.get("kind") == "RoleBinding" else ["ClusterRole"]
    if ref.get("kind") not in allowed:
        causes.append(field_unsupported("roleRef.kind", ref.get("kind", ""), allowed))
    if old is not None and old.get("roleRef") != ref:
        causes.append(field_invalid("roleRef", ref, "cannot change roleRef"))
    return causes


def _crd(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [field_required("spec")]
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    group, plural, kind = spec.get("group") or "", names.get("plural") or "", names.get("kind") or ""
    causes = []
    if not group:
        causes.append(field_required("spec.group"))
    elif "." not in group or not _SUBDOMAIN_RE.fullmatch(group):
        causes.append(field_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not plural:
        causes.append(field_required("spec.names.plural"))
    elif not _LABEL_RE.fullmatch(plural):
        causes.append(field_invalid("spec.names.plural", plural, _LABEL_HELP))
    if not kind:
        causes.append(field_required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(field_unsupported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(field_required("spec.versions", "must have exactly one version marked as storage version"))
    else:
        if any(not isinstance(v, dict) or not v.get("name") for v in versions):
            causes.append(field_required("spec.versions[].name"))
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(
                field_invalid(
                    "spec.versions",
                    [v["name"] for v in versions],
                    "must have exactly one version marked as storage version",
                )
            )
    name = obj["metadata"]["name"]
    if group and plural and name != f"{plural}.{group}":
        causes.append(field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if old is not None and old.get("spec", {}).get("group") != group:
        causes.append(field_invalid("spec.group", group, "field is immutable"))
    if causes:
        return causes
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", f"{kind}List")
    spec.setdefault("conversion", {"strategy": "None"})
    _crd_status(obj, old)
    return []


def _crd_status(obj: Obj, old: Obj | None) -> None:
    """What the CRD controllers report: names accepted, established, stored versions."""
    storage = next(v["name"] for v in obj["spec"]["versions"] if v.get("storage"))
    if old is None:
        now = obj["metadata"]["creationTimestamp"]
        status: Obj = {
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now, "reason": r, "message": m}
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
            "storedVersions": [],
        }
    else:
        status = dict(old.get("status") or {})
    stored = list(status.get("storedVersions") or [])
    if storage not in stored:
        stored.append(storage)
    status["storedVersions"] = stored
    status["acceptedNames"] = dict(obj["spec"]["names"])
    obj["status"] = status
