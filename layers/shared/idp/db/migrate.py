"""Versioned SQL migrations: `infra/migrations/NNNN_name.sql`, applied in order, recorded, re-runnable.

An advisory lock keeps two runners (two Lambdas, or CI and a developer) from applying the
same version at once.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from idp.db.connection import Database

__all__ = ["applied_versions", "apply_migrations", "default_migrations_dir"]

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x1D9_0001


def default_migrations_dir() -> Path:
    """`IDP_MIGRATIONS_DIR`, else the repository's `infra/migrations`."""
    configured = os.environ.get("IDP_MIGRATIONS_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "infra" / "migrations"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("infra/migrations not found; set IDP_MIGRATIONS_DIR")


def _migration_files(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if match:
            found.append((match.group(1), path))
    return found


def applied_versions(db: Database) -> list[str]:
    db.run(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return [row[0] for row in db.run("SELECT version FROM schema_migrations ORDER BY version")]


def apply_migrations(db: Database, directory: Path | None = None) -> list[str]:
    """Applies the pending migrations, each in its own transaction; returns their names."""
    directory = directory or default_migrations_dir()
    applied_now: list[str] = []
    db.run("SELECT pg_advisory_lock(:key)", key=_LOCK_KEY)
    try:
        done = set(applied_versions(db))
        for version, path in _migration_files(directory):
            if version in done:
                continue
            sql = path.read_text()
            with db.transaction():
                # pg8000 sends one statement per call; migrations separate them with lines of `;`.
                for statement in _statements(sql):
                    db.run(statement)
                db.run(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, :n, :c)",
                    v=version,
                    n=path.name,
                    c=hashlib.sha256(sql.encode()).hexdigest(),
                )
            applied_now.append(path.name)
    finally:
        db.run("SELECT pg_advisory_unlock(:key)", key=_LOCK_KEY)
    return applied_now


def _statements(sql: str) -> list[str]:
    """Splits on `;` at line ends outside dollar-quoted bodies (enough for our own files)."""
    statements, current, in_dollar = [], [], False
    for line in sql.splitlines():
        if line.count("$$") % 2 == 1:
            in_dollar = not in_dollar
        current.append(line)
        if not in_dollar and line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if text.strip(";").strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in current):
                statements.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest and not all(ln.strip().startswith("--") or not ln.strip() for ln in current):
        statements.append(rest)
    return statements
