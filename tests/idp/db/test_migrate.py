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


def test_isolation_migration_gives_live_tenants_their_namespaces_and_audit_entries_their_tenant(
    database_url: str, tmp_path: Path
) -> None:
    """0008 moves existing rows: live tenants claim their namespaces; old audit entries follow the tenant
    that had the name at the time, not a later one that reused it."""
    schema = f"idp_mig_{uuid.uuid4().hex[:10]}"
    for path in MIGRATIONS.glob("[0-9]*.sql"):
        if path.name < "0008":
            (tmp_path / path.name).write_text(path.read_text())
    db = Database(database_url, schema=schema)
    try:
        apply_migrations(db, tmp_path)
        insert = (
            "INSERT INTO tenants (name, display_name, environments, quotas, created_by, created_at, deleted_at, status)"
            " VALUES ('x', 'X', CAST(:envs AS jsonb), '{}', 'a', CAST(:created AS timestamptz),"
            " CAST(:deleted AS timestamptz), :status) RETURNING id::text"
        )
        old = db.run(insert, envs='["dev"]', created="2026-01-01", deleted="2026-02-01", status="deleted")[0][0]
        new = db.run(insert, envs='["dev", "prod"]', created="2026-03-01", deleted=None, status="ready")[0][0]
        for at in ("2026-01-15", "2026-03-15"):
            db.run(
                "INSERT INTO audit_log (at, actor, actor_kind, action, target, tenant, front_end)"
                " VALUES (CAST(:at AS timestamptz), 'a', 'user', 'tenant.update', 'x', 'x', 'api')",
                at=at,
            )
        apply_migrations(db, MIGRATIONS)
        claims = db.run("SELECT namespace, tenant_id::text FROM tenant_namespaces ORDER BY namespace")
        assert claims == [["x-dev", new], ["x-prod", new]]
        entries = db.run("SELECT at::date::text, tenant_id::text FROM audit_log ORDER BY at")
        assert entries == [["2026-01-15", old], ["2026-03-15", new]]
    finally:
        db.run(f"DROP SCHEMA {schema} CASCADE")
        db.close()
