"""What the chat-ops function may touch: it signs no platform token and writes no Slack link
itself (both are the auth function's, behind `/auth/slack/*`); its only table is slack_deliveries."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = {"idp.auth.keys", "idp.auth.tokens", "idp.auth.slack_links", "jwt"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_chatops_imports_no_signing_key_nor_the_link_service() -> None:
    for path in sorted((ROOT / "chatops").rglob("*.py")):
        imported = _imports(path)
        bad = {m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_MODULES)}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_chatops_sql_names_only_its_own_table() -> None:
    tables: set[str] = set()
    for path in sorted((ROOT / "chatops").rglob("*.py")):
        text = path.read_text()
        tables.update(re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_]+)", text))
    assert tables == {"slack_deliveries"}
