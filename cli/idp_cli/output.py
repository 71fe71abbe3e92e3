"""Rendering: rich tables for people, JSON or YAML on stdout for machines, a spinner on stderr.

Only data goes to stdout; messages, warnings, the spinner and progress lines go to stderr,
and the spinner only when stderr is a terminal. Rich and pydantic are imported when something
is rendered, not with this module: `idp --help` needs neither (bench/cold_start.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

__all__ = [
    "OutputFormat",
    "ProgressLine",
    "Row",
    "duration",
    "emit",
    "info",
    "render_detail",
    "render_table",
    "spinner",
    "warn",
]

Row = Sequence[Any]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def _stdout() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # piped: one row per line, whatever the width
        console.width = 1000
    return console


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _plain(data: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> Any:
    from pydantic import BaseModel

    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, dict):
        return data
    return [item.model_dump(mode="json") for item in data]


def emit(
    data: BaseModel | Sequence[BaseModel] | dict[str, Any],
    output: OutputFormat,
    table: Callable[[], None],
) -> None:
    """JSON or YAML of `data` on stdout, or call `table` to draw it for people."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(_plain(data), indent=2))
    elif output is OutputFormat.yaml:
        import yaml

        typer.echo(yaml.safe_dump(_plain(data), sort_keys=False).rstrip("\n"))
    else:
        table()


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def duration(seconds: float | None) -> str:
    """`42s`, `3m05s`, `1h02m`; `-` for None."""
    if seconds is None:
        return "-"
    total = max(round(seconds), 0)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def render_table(columns: Sequence[str], rows: Sequence[Row], *, empty: str = "nothing to show") -> None:
    if not rows:
        info(empty)
        return
    from rich.table import Table

    table = Table(header_style="bold", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    _stdout().print(table)


def render_detail(fields: Sequence[tuple[str, Any]]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in fields:
        table.add_row(label, cell(value))
    _stdout().print(table)


def info(message: str) -> None:
    """A message for people, on stderr."""
    _stderr().print(message, markup=False)


def warn(message: str) -> None:
    _stderr().print(f"warning: {message}", style="yellow", markup=False)


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """`console.status` on stderr while waiting, when stderr is a terminal; nothing otherwise."""
    console = _stderr()
    if not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


class ProgressLine:
    """A status line on stderr while something runs.

    On a terminal one line is rewritten in place at every `update`; otherwise (CI logs,
    pipes) a line is written only when `key` changes, so a log shows each state once.
    `note` writes a line that stays, above the live one.
    """

    _CLEAR = "\r\x1b[2K"

    def __init__(self, *, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self._key: object = None
        self._text = ""

    def _write(self, text: str) -> None:
        sys.stderr.write(text)  # not click.echo: it would strip the escape code that clears the line
        sys.stderr.flush()

    def update(self, key: object, text: str) -> None:
        if self.live:
            self._write(self._CLEAR + text)
        elif key != self._key:
            self._write(text + "\n")
        self._key = key
        self._text = text

    def note(self, text: str) -> None:
        if self.live:
            self._write(self._CLEAR + text + "\n" + self._text)
        else:
            self._write(text + "\n")

    def close(self) -> None:
        """End the live line (the cursor moves to a fresh line); nothing to do otherwise."""
        if self.live and self._text:
            self._write("\n")
        self._text = ""
