"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), a strategic merge subset."""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError, bad_request

__all__ = ["json_patch", "merge_patch", "strategic_merge_patch"]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$patch") == "delete"


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not _is_delete(v)]
    return value


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """A merge patch that understands ``$patch: replace|delete`` and drops the other directives
    (``$setElementOrder/...``, ``$retainKeys``...); lists are replaced, not merged by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(_strip_directives(patch))
    if patch.get("$patch") == "replace":
        return copy.deepcopy(_strip_directives(patch))
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None or _is_delete(value):
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise bad_request(f"invalid JSON pointer: {json.dumps(path)}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _unprocessable(f'JSON pointer must be empty or start with a "/": {path}')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, *, allow_end: bool = False) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise _unprocessable(f"invalid array index {token!r} in {path}")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise _unprocessable(f"array index out of bounds in {path}")
    return index


def _resolve(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path)]
        else:
            raise _unprocessable(f"doc is missing path: {path}: missing value")
    return node


def _add(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise _unprocessable(f"doc is missing path: {path}: missing value")
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> tuple[Any, Any]:
    if not tokens:
        return None, doc
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path))
    raise _unprocessable(f"doc is missing path: {path}: missing value")


def _same(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 on a deep copy of ``doc``: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise bad_request(f"invalid JSON patch operation: {json.dumps(operation)}")
        op = operation["op"]
        path = operation.get("path")
        tokens = _pointer(path)
        if op in ("add", "replace", "test") and "value" not in operation:
            raise _unprocessable(f"missing value for {op} operation on {path}")
        if op == "add":
            doc = _add(doc, tokens, copy.deepcopy(operation["value"]), str(path))
        elif op == "remove":
            doc, _ = _remove(doc, tokens, str(path))
        elif op == "replace":
            _resolve(doc, tokens, str(path))
            doc, _ = _remove(doc, tokens, str(path))
            doc = _add(doc, tokens, copy.deepcopy(operation["value"]), str(path))
        elif op in ("move", "copy"):
            source = operation.get("from")
            from_tokens = _pointer(source)
            if op == "move":
                doc, value = _remove(doc, from_tokens, str(source))
            else:
                value = copy.deepcopy(_resolve(doc, from_tokens, str(source)))
            doc = _add(doc, tokens, value, str(path))
        elif op == "test":
            if not _same(_resolve(doc, tokens, str(path)), operation["value"]):
                raise _unprocessable(
                    f"the server rejected our request due to an error in our request: testing value {path} failed"
                )
        else:
            raise bad_request(f"Unexpected kind: {op}")
    return doc
