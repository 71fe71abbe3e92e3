"""``render_text``: Block Kit as readable plain text, for terminals (``idp chat``) and test asserts."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["render_text"]

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def _mrkdwn(text: str) -> str:
    """Slack's escapes and ``<...>`` references as a person would read them."""

    def reference(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        return f"{label} ({target})" if label and label != target else target

    text = _LINK.sub(reference, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return _mrkdwn(str(value.get("text", "")))
    return "" if value is None else _mrkdwn(str(value))


def _element(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    kind = item.get("type", "")
    if kind == "button":
        return f"[{_text(item.get('text'))}]"
    if kind in ("plain_text", "mrkdwn"):
        return _text(item)
    if kind == "image":
        return f"[image: {item.get('alt_text', '')}]"
    if kind.endswith("_select") or kind == "overflow" or kind.startswith("multi_"):
        chosen = item.get("initial_option") or {}
        label = _text(chosen.get("text")) or _text(item.get("placeholder")) or kind
        return f"[{label} ▾]"
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = item.get("initial_value") or _text(item.get("placeholder"))
        return f"[{value or '...'}]"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        return f"[{item.get('initial_date') or item.get('initial_time') or kind}]"
    if kind in ("checkboxes", "radio_buttons"):
        return " ".join(f"( ) {_text(option.get('text'))}" for option in item.get("options") or [])
    return f"[{kind}]"


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "link":
            return str(node.get("text") or node.get("url", ""))
        if node.get("type") == "user":
            return f"@{node.get('user_id', '')}"
        if node.get("type") == "channel":
            return f"#{node.get('channel_id', '')}"
        return _rich_text(node.get("elements") or [])
    if isinstance(node, list):
        return "".join(_rich_text(child) for child in node)
    return ""


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        title = _text(block.get("text"))
        return f"{title}\n{'=' * len(title)}"
    if kind == "divider":
        return "-" * 40
    if kind == "section":
        lines = [_text(block.get("text"))] if block.get("text") else []
        lines += [f"  {_text(field)}" for field in block.get("fields") or []]
        accessory = _element(block.get("accessory"))
        if accessory and lines:
            lines[0] = f"{lines[0]}  {accessory}"
        elif accessory:
            lines.append(accessory)
        return "\n".join(lines)
    if kind == "context":
        return "  ".join(part for part in (_element(e) for e in block.get("elements") or []) if part)
    if kind == "actions":
        return " ".join(_element(item) for item in block.get("elements") or [])
    if kind == "input":
        optional = " (optional)" if block.get("optional") else ""
        hint = f"\n  {_text(block.get('hint'))}" if block.get("hint") else ""
        return f"{_text(block.get('label'))}{optional}: {_element(block.get('element'))}{hint}"
    if kind == "image":
        title = _text(block.get("title"))
        return f"[image: {title or block.get('alt_text', '')}]"
    if kind == "rich_text":
        return _rich_text(block.get("elements") or [])
    return f"[{kind}]"


def _blocks(blocks: list[Any]) -> str:
    return "\n".join(_block(block) for block in blocks if isinstance(block, dict))


def render_text(message_or_blocks: dict[str, Any] | list[Any]) -> str:
    """Readable text for a list of blocks, a message (``blocks``, else ``text``; attachments too) or a view.

    Buttons read ``[Approve]``, selects ``[Pick one ▾]``, a header is underlined with ``=``, a
    divider is a line of ``-``; ``<@U1>``, ``<#C1|general>`` and ``<url|label>`` read as
    ``@U1``, ``#general`` and ``label (url)``.
    """
    if isinstance(message_or_blocks, list):
        return _blocks(message_or_blocks)
    message = message_or_blocks
    if message.get("type") in ("modal", "home"):
        parts = [f"[{_text(message.get('title')) or message['type']}]", _blocks(message.get("blocks") or [])]
        buttons = " ".join(f"[{_text(message[key])}]" for key in ("close", "submit") if message.get(key))
        return "\n".join(part for part in (*parts, buttons) if part)
    parts = [_blocks(message["blocks"])] if message.get("blocks") else [_text(message.get("text"))]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            inner = _blocks(attachment.get("blocks") or []) or _text(
                attachment.get("text") or attachment.get("fallback")
            )
            parts.append("\n".join(f"| {line}" for line in inner.splitlines()))
    return "\n".join(part for part in parts if part)
