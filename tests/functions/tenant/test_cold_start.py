"""Cold start: the tenant function pays only for what it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("tenant_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
roots = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(roots))
"""


def _modules_after_import(function_file: Path) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(function_file)],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "JWT_SECRET": "x"},
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _installed(*names: str) -> tuple[str, ...]:
    """The names, each checked to be installed: a module that cannot be imported proves nothing by its absence."""
    import importlib.util

    for name in names:
        assert importlib.util.find_spec(name) is not None, f"{name} is not installed: the check would be vacuous"
    return names


def test_tenant_function_imports_neither_slack_nor_heavy_clients() -> None:
    loaded = _modules_after_import(ROOT / "functions" / "tenant" / "app.py")
    assert "idp" in loaded and "aws_lambda_powertools" in loaded
    for heavy in _installed("slack_bolt", "slack_sdk", "kubernetes", "boto3", "pg8000", "chalice"):
        assert heavy not in loaded, f"importing the tenant function pulled in {heavy}"


def test_authorizer_imports_no_database_or_cloud_client() -> None:
    loaded = _modules_after_import(ROOT / "functions" / "auth" / "authorizer.py")
    for heavy in _installed("slack_bolt", "kubernetes", "boto3", "pg8000"):
        assert heavy not in loaded
