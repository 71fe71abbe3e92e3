"""What the chat-ops function may touch. It faces the internet, so it holds as little as it can:
no signing key, no database, no domain code. It reaches the platform only through the shared
API client (`idp.client`) and the API's models (`idp.schemas`); links, tokens and Slack
de-duplication are the auth function's, behind `/auth/slack/*`.

(The CLI's equivalent rule is an import-linter contract in pyproject.toml; chat-ops' modules are
top-level modules, not a package, so this test reads their imports itself.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What chat-ops may import of the shared layer: the API client and contract, and the plumbing.
ALLOWED = (
    "idp.client",
    "idp.schemas",
    "idp.errors",
    "idp.config",
    "idp.observability",
    "idp.slack_messages",
    "idp.clients.sigv4",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _chatops_modules() -> list[Path]:
    return sorted((ROOT / "chatops").rglob("*.py"))


def test_chatops_imports_only_the_api_client_and_its_models_of_the_layer() -> None:
    for path in _chatops_modules():
        layer = {m for m in _imports(path) if m == "idp" or m.startswith("idp.")}
        bad = {m for m in layer if not any(m == a or m.startswith(a + ".") for a in ALLOWED)}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)} (chat-ops may import only {ALLOWED})"


def test_chatops_imports_no_signing_key_no_jwt_and_no_database_driver() -> None:
    for path in _chatops_modules():
        bad = {m for m in _imports(path) if m.split(".")[0] in {"jwt", "pg8000", "cryptography"}}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_chatops_runs_no_sql() -> None:
    for path in _chatops_modules():
        assert not re.search(r"\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b", path.read_text()), path
