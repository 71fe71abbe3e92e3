"""Migrations: applied in order, recorded, and safe to run again."""

from __future__ import annotations

import uuid
from pathlib import Path

from idp.db import Database, applied_versions, apply_migrations, parse_database_url

MIGRATIONS = Path(__file__).resolve().parents[3] / "infra" / "migrations"


def test_migrations_apply_once_and_rerun_is_a_no_op(database_url: str) -> None:
    schema = f"idp_mig_{uuid.uuid4().hex[:10]}"
    db = Database(database_url, schema=schema)
    try:
        first = apply_migrations(db, MIGRATIONS)
        assert first and first[0].startswith("0001_")
        assert apply_migrations(db, MIGRATIONS) == []
        assert applied_versions(db) == sorted(p.name[:4] for p in MIGRATIONS.glob("[0-9]*.sql"))
        assert db.run("SELECT count(*) FROM tenants") == [[0]]
    finally:
        db.run(f"DROP SCHEMA {schema} CASCADE")
        db.close()


def test_failed_migration_rolls_back_and_is_not_recorded(database_url: str, tmp_path: Path) -> None:
    schema = f"idp_mig_{uuid.uuid4().hex[:10]}"
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (id int);\nSELECT * FROM missing_table;\n")
    db = Database(database_url, schema=schema)
    try:
        try:
            apply_migrations(db, tmp_path)
        except Exception as exc:
            assert "missing_table" in str(exc)
        else:
            raise AssertionError("a broken migration must fail")
        assert applied_versions(db) == ["0001"]
        assert db.run("SELECT to_regclass('b')") == [[None]]
        (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (id int);\n")
        assert apply_migrations(db, tmp_path) == ["0002_broken.sql"]
    finally:
        db.run(f"DROP SCHEMA {schema} CASCADE")
        db.close()


def test_database_urls_for_tcp_and_unix_sockets() -> None:
    tcp = parse_database_url("postgresql://app:s%40cret@db.example.com:6543/idp")
    assert tcp == {"user": "app", "password": "s@cret", "database": "idp", "host": "db.example.com", "port": 6543}
    sock = parse_database_url("postgresql://postgres:@/postgres?host=/tmp/pgdata")
    assert sock == {"user": "postgres", "database": "postgres", "unix_sock": "/tmp/pgdata/.s.PGSQL.5432"}


def test_transaction_rolls_back_on_error(db: Database) -> None:
    try:
        with db.transaction():
            db.run(
                "INSERT INTO tenants (name, display_name, environments, quotas, created_by)"
                " VALUES ('t', 'T', '[]', '{}', 'x')"
            )
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.run("SELECT count(*) FROM tenants") == [[0]]
