"""The object store and the verbs on it: create, get, list, replace, patch, delete."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from .errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    field_invalid,
    invalid,
    not_found,
    unsupported_media_type,
)
from .kinds import initial_status, prepare, validate_metadata
from .patch import json_patch, merge_patch, strategic_merge_patch
from .resources import Registry, ResourceType
from .selectors import SelectorError, field_selectable, parse_field_selector, parse_label_selector
from .tokens import TokenBook

__all__ = ["JSON_PATCH", "MERGE_PATCH", "STRATEGIC_MERGE_PATCH", "Store", "now"]

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

NAMESPACES: tuple[str, str] = ("", "namespaces")
CRDS: tuple[str, str] = ("apiextensions.k8s.io", "customresourcedefinitions")
# Kinds whose DELETE answers with the deleted object (``ReturnDeletedObject``); the rest answer a Status.
RETURNS_DELETED = frozenset(
    [
        ("", p)
        for p in (
            "namespaces",
            "pods",
            "podtemplates",
            "services",
            "serviceaccounts",
            "resourcequotas",
            "persistentvolumes",
            "persistentvolumeclaims",
        )
    ]
    + [("storage.k8s.io", "storageclasses"), CRDS]
)
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the API server uses: no vowels, no 0/1/3


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec(obj: Obj) -> Obj:
    """Everything that counts for metadata.generation."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


class Store:
    """All objects, in memory, behind one re-entrant lock (``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.registry = Registry()
        self.tokens = TokenBook()
        self._objects: dict[tuple[str, str], dict[Key, Obj]] = {}
        self._rv = 0

    # housekeeping ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything; keep only the namespaces a fresh API server creates itself."""
        with self.lock:
            self.registry.clear_custom()
            self.tokens.clear()
            self._objects.clear()
            namespaces = self.registry.lookup("", "v1", "namespaces")
            assert namespaces is not None
            for name in SYSTEM_NAMESPACES:
                self.create(namespaces, None, {"metadata": {"name": name}})

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def _bump(self) -> str:
        self._rv += 1
        return str(self._rv)

    def peek(self, key: tuple[str, str], namespace: str, name: str) -> Obj | None:
        """The stored object itself (callers hold ``lock`` and must not mutate it)."""
        return self._objects.get(key, {}).get((namespace, name))

    def objects(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Copies of stored objects of ``resource`` (a plural, or ``plural.group``)."""
        plural, dot, group = resource.partition(".")
        with self.lock:
            keys = self.registry.storage_keys(plural, group if dot else None)
            if not keys:
                raise ValueError(f"unknown resource {resource!r}")
            found = []
            for key in keys:
                for (ns, _), obj in sorted(self._objects.get(key, {}).items()):
                    if namespace is None or ns == namespace:
                        found.append(copy.deepcopy(obj))
            return found

    @staticmethod
    def _present(rt: ResourceType, obj: Obj) -> Obj:
        shown: Obj = {"kind": obj.get("kind", rt.kind), "apiVersion": rt.api_version}
        shown.update((k, copy.deepcopy(v)) for k, v in obj.items() if k not in shown)
        return shown

    def _require(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.peek(rt.key, namespace or "", name)
        if found is None:
            raise not_found(rt.plural, rt.group, name)
        return found

    # request bodies -------------------------------------------------------------------------
    def _check_body(self, rt: ResourceType, namespace: str | None, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise bad_request(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml"
            )
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version})"
            )
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            name = str((obj.get("metadata") or {}).get("name", ""))
            if rt.custom:
                raise invalid(kind, rt.group, name, [field_invalid("kind", kind, f"must be {rt.kind}")])
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        bucket = self._objects.get(rt.key, {})
        for _ in range(16):
            name = prefix[:58] + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            if (namespace, name) not in bucket:
                return name
        raise ApiError(500, "failed to generate a unique name", reason="ServerTimeout")

    # verbs ----------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.lock:
            return self._present(rt, self._require(rt, namespace, name))

    def create(self, rt: ResourceType, namespace: str | None, body: Any, *, dry_run: bool = False) -> Obj:
        with self.lock:
            obj = self._check_body(rt, namespace, body)
            meta = obj["metadata"]
            if meta.get("resourceVersion"):
                raise ApiError(500, "resourceVersion should not be set on objects to be created", reason="")
            ns = namespace or ""
            if rt.namespaced and self.peek(NAMESPACES, "", ns) is None:
                raise not_found("namespaces", "", ns)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(rt, ns, str(meta["generateName"]))
            causes = validate_metadata(rt, obj)
            if causes:
                raise invalid(rt.kind, rt.group, str(meta.get("name") or ""), causes)
            name = meta["name"]
            for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
                meta.pop(field, None)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            initial_status(rt, obj)
            causes = prepare(rt, obj, None)
            if causes:
                raise invalid(rt.kind, rt.group, name, causes)
            if self.peek(rt.key, ns, name) is not None:
                raise already_exists(rt.plural, rt.group, name)
            if not dry_run:
                meta["resourceVersion"] = self._bump()
                self._objects.setdefault(rt.key, {})[(ns, name)] = obj
                if rt.key == CRDS:
                    self.registry.register(obj)
            return self._present(rt, obj)

    def replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        with self.lock:
            obj = self._check_body(rt, namespace, body)
            self._check_name(obj, name)
            old = self._require(rt, namespace, name)
            rv = obj["metadata"].get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            if not rv and rt.custom:
                cause = {
                    "reason": "FieldValueInvalid",
                    "field": "metadata.resourceVersion",
                    "message": "Invalid value: 0x0: must be specified for an update",
                }
                raise invalid(rt.kind, rt.group, name, [cause])
            return self._commit(rt, old, obj, subresource=subresource, dry_run=dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        content_type: str,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        accepted = [JSON_PATCH, MERGE_PATCH] + ([] if rt.custom else [STRATEGIC_MERGE_PATCH])
        if content_type not in accepted:
            raise unsupported_media_type(content_type, accepted)
        with self.lock:
            old = self._require(rt, namespace, name)
            current = self._present(rt, old)
            if content_type == JSON_PATCH:
                patched = json_patch(current, patch)
            elif content_type == MERGE_PATCH:
                patched = merge_patch(current, patch)
            else:
                patched = strategic_merge_patch(current, patch)
            if not isinstance(patched, dict):
                raise bad_request("the patch does not leave an object")
            rv = (patched.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            obj = self._check_body(rt, namespace, patched)
            self._check_name(obj, name)
            return self._commit(rt, old, obj, subresource=subresource, dry_run=dry_run)

    @staticmethod
    def _check_name(obj: Obj, name: str) -> None:
        given = obj["metadata"].get("name") or ""
        if given != name:
            raise bad_request(f"the name of the object ({given}) does not match the name on the URL ({name})")

    def _commit(self, rt: ResourceType, old: Obj, new: Obj, *, subresource: str | None, dry_run: bool) -> Obj:
        """Store ``new`` in place of ``old``; a write that changes nothing keeps resourceVersion."""
        old_meta = old["metadata"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        else:
            meta = new["metadata"]
            for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            for field in ("selfLink", "managedFields"):
                meta.pop(field, None)
            if rt.status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            causes = validate_metadata(rt, new) + prepare(rt, new, old)
            if causes:
                raise invalid(rt.kind, rt.group, old_meta["name"], causes)
            if _spec(new) != _spec(old):
                meta["generation"] = int(old_meta.get("generation") or 0) + 1
        new["apiVersion"] = old["apiVersion"]
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        if new == old:
            return self._present(rt, old)
        if not dry_run:
            new["metadata"]["resourceVersion"] = self._bump()
            self._objects[rt.key][(old_meta.get("namespace") or "", old_meta["name"])] = new
            if rt.key == CRDS:
                self.registry.register(new)
        return self._present(rt, new)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: Any = None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        with self.lock:
            old = self._require(rt, namespace, name)
            meta = old["metadata"]
            preconditions = (options.get("preconditions") if isinstance(options, dict) else None) or {}
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = preconditions.get(field)
                if wanted and wanted != meta.get(field):
                    raise conflict(
                        rt.plural,
                        rt.group,
                        name,
                        f"Precondition failed: {label} in precondition: "
                        f"{wanted}, {label} in object meta: {meta.get(field)}",
                    )
            shown = self._present(rt, old)
            if not dry_run:
                self._remove(rt, old)
            if rt.key in (NAMESPACES, CRDS):  # these go through a terminating phase (done at once here)
                shown["metadata"]["deletionTimestamp"] = now()
                if rt.key == NAMESPACES:
                    shown["status"] = {"phase": "Terminating"}
            if rt.key in RETURNS_DELETED:
                return shown
            details: Obj = {"name": name, "kind": rt.plural, "uid": meta["uid"]}
            if rt.group:
                details["group"] = rt.group
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _remove(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        del self._objects[rt.key][(meta.get("namespace") or "", meta["name"])]
        self._bump()
        if rt.key == NAMESPACES:  # cascade: everything inside goes at once
            for bucket in self._objects.values():
                for key in [k for k in bucket if k[0] == meta["name"]]:
                    del bucket[key]
        elif rt.key == CRDS:
            self.registry.unregister(meta["name"])
            spec = obj.get("spec") or {}
            self._objects.pop((spec.get("group", ""), (spec.get("names") or {}).get("plural", "")), None)

    def _select(self, rt: ResourceType, namespace: str | None, labels: str, fields: str) -> list[Obj]:
        try:
            label_reqs = parse_label_selector(labels)
            field_reqs = parse_field_selector(fields, field_selectable(rt.plural, rt.custom))
        except SelectorError as exc:
            raise bad_request(str(exc)) from exc
        found = []
        for (ns, _), obj in sorted(self._objects.get(rt.key, {}).items()):
            if namespace is not None and ns != namespace:
                continue
            obj_labels = obj["metadata"].get("labels") or {}
            if all(r.matches(obj_labels) for r in label_reqs) and all(r.matches(obj) for r in field_reqs):
                found.append(obj)
        return found

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> Obj:
        with self.lock:
            items = self._select(rt, namespace, label_selector, field_selector)
            meta: Obj = {"resourceVersion": self.resource_version}
            if continue_token:
                try:
                    start = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                    after = (str(start[0]), str(start[1]))
                except (ValueError, TypeError, IndexError) as exc:
                    raise bad_request("continue key is not valid") from exc
                items = [o for o in items if (o["metadata"].get("namespace") or "", o["metadata"]["name"]) > after]
            if limit and len(items) > limit:
                last = items[limit - 1]["metadata"]
                meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps([last.get("namespace") or "", last["name"]]).encode()
                ).decode()
                meta["remainingItemCount"] = len(items) - limit
                items = items[:limit]
            shown = [self._present(rt, o) for o in items]
            if not rt.custom:  # built-in list items carry no apiVersion/kind on the wire
                for item in shown:
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
            return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": shown}

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        dry_run: bool = False,
    ) -> Obj:
        with self.lock:
            doomed = self._select(rt, namespace, label_selector, field_selector)
            shown = [self._present(rt, o) for o in doomed]
            if not dry_run:
                for obj in doomed:
                    self._remove(rt, obj)
            meta = {"resourceVersion": self.resource_version}
            return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": shown}
