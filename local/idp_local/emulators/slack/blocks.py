"""Block Kit limits, checked the way Slack checks them, so an app's layout bugs fail in tests.

Messages answer ``invalid_blocks`` (``invalid_blocks_format`` when ``blocks`` is not a list
of objects); views answer ``invalid_arguments``. Either way ``response_metadata.messages``
says what was wrong, with a JSON pointer, as Slack does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "MAX_VIEW_BLOCKS",
    "BlockError",
    "check_message_blocks",
    "check_view",
]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_ACTIONS_ELEMENTS = 25
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255


class BlockError(Exception):
    """A Block Kit violation: ``error`` is the Slack error code, ``messages`` its response_metadata."""

    def __init__(self, error: str, messages: list[str]) -> None:
        super().__init__(f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = messages


def _text_of(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return "" if value is None else str(value)


def _problems(blocks: Any, *, limit: int, pointer: str) -> list[str]:
    """Everything wrong with ``blocks``, as Slack's ``[ERROR] ... [json-pointer:...]`` lines."""
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        return [f"[ERROR] must provide an array of objects [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    action_ids: set[str] = set()

    def too_long(value: Any, limit: int, where: str) -> None:
        if len(_text_of(value)) > limit:
            problems.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}]")

    def element(item: dict[str, Any], where: str) -> None:
        action_id = item.get("action_id")
        if action_id is not None:
            too_long(action_id, MAX_ACTION_ID, f"{where}/action_id")
            if action_id in action_ids:
                problems.append(f"[ERROR] duplicate action_id `{action_id}` [json-pointer:{where}/action_id]")
            action_ids.add(str(action_id))
        if item.get("type") == "button":
            too_long(item.get("text"), MAX_BUTTON_TEXT, f"{where}/text/text")
            too_long(item.get("value"), MAX_BUTTON_VALUE, f"{where}/value")

    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            too_long(block_id, MAX_BLOCK_ID, f"{where}/block_id")
            if block_id in block_ids:
                problems.append(f"[ERROR] duplicate block_id `{block_id}` [json-pointer:{where}/block_id]")
            block_ids.add(str(block_id))
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{where}]")
            too_long(block.get("text"), MAX_SECTION_TEXT, f"{where}/text/text")
            fields = block.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(
                    f"[ERROR] no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
                )
            for number, field in enumerate(fields):
                too_long(field, MAX_FIELD_TEXT, f"{where}/fields/{number}/text")
            if isinstance(block.get("accessory"), dict):
                element(block["accessory"], f"{where}/accessory")
        elif kind == "header":
            too_long(block.get("text"), MAX_HEADER_TEXT, f"{where}/text/text")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements:
                problems.append(f"[ERROR] must provide at least 1 item [json-pointer:{where}/elements]")
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                problems.append(
                    f"[ERROR] no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}/elements]"
                )
            for number, item in enumerate(elements):
                if isinstance(item, dict):
                    element(item, f"{where}/elements/{number}")
        elif kind == "input" and isinstance(block.get("element"), dict):
            element(block["element"], f"{where}/element")
    return problems


def check_message_blocks(blocks: Any) -> None:
    """Raises ``BlockError`` (``invalid_blocks`` / ``invalid_blocks_format``) for a message's blocks."""
    if blocks is None:
        return
    problems = _problems(blocks, limit=MAX_MESSAGE_BLOCKS, pointer="/blocks")
    if problems:
        error = "invalid_blocks_format" if problems[0].startswith("[ERROR] must provide an array") else "invalid_blocks"
        raise BlockError(error, problems)


def check_view(view: Any) -> None:
    """Raises ``BlockError("invalid_arguments", ...)`` for a view Slack would refuse."""
    if not isinstance(view, dict):
        raise BlockError("invalid_arguments", ["[ERROR] must provide an object [json-pointer:/view]"])
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("[ERROR] must be one of: modal, home [json-pointer:/view/type]")
    if kind == "modal":
        if not _text_of(view.get("title")):
            problems.append("[ERROR] missing required field: title [json-pointer:/view]")
        for key in ("title", "submit", "close"):
            if len(_text_of(view.get(key))) > MAX_VIEW_TITLE:
                problems.append(
                    f"[ERROR] must be less than {MAX_VIEW_TITLE + 1} characters [json-pointer:/view/{key}/text]"
                )
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and not view.get("submit"):
            problems.append("[ERROR] submit is required when an input block is present [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(
            f"[ERROR] must be less than {MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("callback_id") or "")) > MAX_CALLBACK_ID:
        problems.append(f"[ERROR] must be less than {MAX_CALLBACK_ID + 1} characters [json-pointer:/view/callback_id]")
    problems += _problems(view.get("blocks", []), limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if problems:
        raise BlockError("invalid_arguments", problems)
