"""`idp --help` without Typer: the launcher prints the help the Typer app would print, loading
nothing heavy (bench/cold_start.py times it against `python -c pass`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from idp_cli.launch import WIDTH, typer_help
from idp_cli.top_help import TEXT

PROBE = """
import io, json, runpy, sys, contextlib
sys.argv = ["idp"] + sys.argv[1:]
out = io.StringIO()
code = 0
with contextlib.redirect_stdout(out):
    try:
        from idp_cli.launch import main
        main()
    except SystemExit as exit:
        code = exit.code or 0
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _run(*args: str, columns: int = WIDTH) -> dict[str, object]:
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_the_launchers_help_is_the_typer_apps() -> None:
    # When a command or its help changes, regenerate: .venv/bin/python -m idp_cli.launch --regenerate
    assert typer_help() == TEXT


def test_idp_help_loads_neither_typer_nor_rich_nor_models_nor_requests() -> None:
    probe = _run("--help")
    assert probe["code"] == 0 and probe["out"] == TEXT
    loaded = set(probe["modules"])  # type: ignore[arg-type]
    for heavy in ("typer", "click", "rich", "pydantic", "requests", "yaml", "idp"):
        assert heavy not in loaded, f"idp --help loaded {heavy}"


def test_every_other_command_line_goes_to_typer() -> None:
    narrow = _run("--help", columns=60)  # a narrow terminal: Typer wraps the help to it
    assert narrow["code"] == 0 and narrow["out"] != TEXT and "Usage: idp" in str(narrow["out"])
    assert "typer" in narrow["modules"]  # type: ignore[operator]
    sub = _run("tenant", "--help")
    assert sub["code"] == 0 and "Usage: idp tenant" in str(sub["out"]) and "rich" not in sub["modules"]  # type: ignore[operator]
