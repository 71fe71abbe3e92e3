"""Cold start: the argocd function and the poller pay only for what they use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("probe", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("handler_file", ["app.py", "poller.py"])
def test_argocd_functions_import_no_heavy_client(handler_file: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / "argocd" / handler_file)],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "idp" in loaded and "aws_lambda_powertools" in loaded
    # requests (Argo CD), pg8000 and the Slack SDK are imported on first use, boto3 only for secrets.
    for heavy in ("kubernetes", "slack_bolt", "slack_sdk", "boto3", "pg8000", "chalice", "requests"):
        assert heavy not in loaded, f"importing functions/argocd/{handler_file} pulled in {heavy}"
