"""Cold start: importing the chat-ops function loads Chalice, not Bolt, the Slack SDK or boto3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("chatops_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_chatops_function_defers_bolt_to_the_first_request() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "chatops" / "app.py")],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "chalice" in loaded
    for heavy in ("slack_bolt", "slack_sdk", "boto3", "pg8000", "kubernetes", "aws_lambda_powertools"):
        assert heavy not in loaded, f"importing the chat-ops function pulled in {heavy}"
