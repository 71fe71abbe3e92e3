"""Who is calling: TokenRequest, issued-token liveness, and the (allow-all) review APIs."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

from .errors import (
    bad_request,
    conflict,
    field_invalid,
    field_required,
    field_unsupported,
    invalid,
    not_found,
)
from .resources import ResourceType
from .store import Store
from .tokens import IssuedToken

__all__ = ["ADMIN_USER", "ANONYMOUS_USER", "review", "token_request", "token_user"]

Obj = dict[str, Any]

AUTHN_GROUP = "authentication.k8s.io"
ADMIN_USER: Obj = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
ANONYMOUS_USER: Obj = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
_BINDABLE = {"Secret": "secrets", "Pod": "pods"}
_MIN_EXPIRATION = 600
_MAX_EXPIRATION = 2**32


def _live(store: Store, record: IssuedToken) -> bool:
    if time.time() >= record.expires_at:
        return False
    account = store.peek(("", "serviceaccounts"), record.namespace, record.service_account)
    if account is None or account["metadata"]["uid"] != record.service_account_uid:
        return False
    if record.bound_kind and record.bound_name:
        bound = store.peek(("", _BINDABLE[record.bound_kind]), record.namespace, record.bound_name)
        if bound is None or bound["metadata"]["uid"] != record.bound_uid:
            return False
    return True


def token_user(store: Store, token: str) -> tuple[bool, Obj | None]:
    """``(issued, user)``: whether the emulator issued ``token``, and its user while it is live."""
    with store.lock:
        record = store.tokens.lookup(token)
        if record is None:
            return False, None
        return True, (record.user_info() if _live(store, record) else None)


def _token_request_causes(spec: Obj) -> list[dict[str, str]]:
    causes = []
    audiences = spec.get("audiences")
    if not isinstance(audiences, list) or not audiences or not all(isinstance(a, str) and a for a in audiences):
        causes.append(field_required("spec.audiences", "at least one audience is required"))
    expiration = spec.get("expirationSeconds")
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        causes.append(field_invalid("spec.expirationSeconds", expiration, "must be an integer"))
    elif expiration < _MIN_EXPIRATION:
        causes.append(
            field_invalid("spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes")
        )
    elif expiration > _MAX_EXPIRATION:
        causes.append(
            field_invalid("spec.expirationSeconds", expiration, "may not specify a duration larger than 2^32 seconds")
        )
    ref = spec.get("boundObjectRef")
    if ref is not None:
        if not isinstance(ref, dict):
            causes.append(field_invalid("spec.boundObjectRef", ref, "must be an object"))
            return causes
        if ref.get("kind") not in _BINDABLE:
            causes.append(field_unsupported("spec.boundObjectRef.kind", ref.get("kind", ""), sorted(_BINDABLE)))
        if not ref.get("name"):
            causes.append(field_required("spec.boundObjectRef.name"))
        if ref.get("apiVersion") not in (None, "", "v1"):
            causes.append(field_unsupported("spec.boundObjectRef.apiVersion", ref["apiVersion"], ["v1"]))
    return causes


def token_request(store: Store, namespace: str, account: str, body: Any, *, dry_run: bool = False) -> Obj:
    """``POST .../serviceaccounts/{account}/token``: validate, bind, issue; answered with 201."""
    if not isinstance(body, dict):
        raise bad_request("the body of the request was in an unknown format")
    if body.get("apiVersion") not in (None, "", f"{AUTHN_GROUP}/v1"):
        raise bad_request(
            f"the API version in the data ({body['apiVersion']}) does not match the expected "
            f"API version ({AUTHN_GROUP}/v1)"
        )
    if body.get("kind") not in (None, "", "TokenRequest"):
        raise bad_request(f"the kind in the data ({body['kind']}) does not match the expected kind (TokenRequest)")
    spec = copy.deepcopy(body.get("spec") or {})
    spec.setdefault("expirationSeconds", 3600)
    if spec["expirationSeconds"] is None:
        spec["expirationSeconds"] = 3600
    with store.lock:
        sa = store.peek(("", "serviceaccounts"), namespace, account)
        if sa is None:
            raise not_found("serviceaccounts", "", account)
        causes = _token_request_causes(spec)
        if causes:
            raise invalid("TokenRequest", AUTHN_GROUP, account, causes)
        ref = spec.get("boundObjectRef")
        bound_uid = None
        if ref:
            plural = _BINDABLE[ref["kind"]]
            target = store.peek(("", plural), namespace, ref["name"])
            if target is None:
                raise not_found(plural, "", ref["name"])
            bound_uid = target["metadata"]["uid"]
            if ref.get("uid") and ref["uid"] != bound_uid:
                raise conflict(
                    ref["kind"],
                    "",
                    ref["name"],
                    f"the UID in the bound object reference ({ref['uid']}) "
                    "does not match the UID in record. The object might have been deleted and then "
                    "recreated",
                )
            ref["uid"] = bound_uid
        expires_at = int(time.time()) + spec["expirationSeconds"]
        record = IssuedToken(
            namespace=namespace,
            service_account=account,
            service_account_uid=sa["metadata"]["uid"],
            audiences=tuple(spec["audiences"]),
            expires_at=expires_at,
            bound_kind=ref["kind"] if ref else None,
            bound_name=ref["name"] if ref else None,
            bound_uid=bound_uid,
        )
        token = "" if dry_run else store.tokens.issue(record)
    return {
        "kind": "TokenRequest",
        "apiVersion": f"{AUTHN_GROUP}/v1",
        "metadata": {"name": account, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {
            "token": token,
            "expirationTimestamp": datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def _token_review(store: Store, spec: Obj, admin_token: str | None) -> Obj:
    token = spec.get("token")
    if not token:
        raise invalid("TokenReview", AUTHN_GROUP, "", [field_required("spec.token")])
    wanted = [a for a in spec.get("audiences") or [] if isinstance(a, str)]
    if admin_token is not None and token == admin_token:
        return {"authenticated": True, "user": ADMIN_USER, "audiences": wanted}
    with store.lock:
        record = store.tokens.lookup(token)
        live = record is not None and _live(store, record)
    if record is None or not live:
        return {"authenticated": False, "user": {}, "error": "invalid bearer token, token lookup failed"}
    audiences = [a for a in record.audiences if not wanted or a in wanted]
    if not audiences:
        return {"authenticated": False, "user": {}, "error": "token audiences are invalid for the target audiences"}
    return {"authenticated": True, "user": record.user_info(), "audiences": audiences}


def review(store: Store, rt: ResourceType, body: Any, requester: Obj, admin_token: str | None) -> Obj:
    """Answer a review POST (TokenReview, SelfSubjectReview, *AccessReview, SelfSubjectRulesReview)."""
    if not isinstance(body, dict):
        raise bad_request("the body of the request was in an unknown format")
    if body.get("apiVersion") not in (None, "", rt.api_version):
        raise bad_request(
            f"the API version in the data ({body['apiVersion']}) does not match the expected "
            f"API version ({rt.api_version})"
        )
    obj = copy.deepcopy(body)
    obj.update(apiVersion=rt.api_version, kind=rt.kind)
    obj["metadata"] = dict(obj.get("metadata") or {}, creationTimestamp=None)
    spec = obj.setdefault("spec", {}) or {}
    if rt.plural == "tokenreviews":
        obj["status"] = _token_review(store, spec, admin_token)
    elif rt.plural == "selfsubjectreviews":
        obj["status"] = {"userInfo": requester}
    elif rt.plural == "selfsubjectrulesreviews":
        obj["status"] = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    else:
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise invalid(
                rt.kind,
                rt.group,
                "",
                [
                    field_invalid(
                        "spec.resourceAttributes",
                        None,
                        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                    )
                ],
            )
        obj["status"] = {"allowed": True, "reason": "the Kubernetes emulator allows every request"}
    return obj
