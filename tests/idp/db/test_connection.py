"""A rotated database secret: the next connection reads the secret anew when PostgreSQL
refuses the URL read before the rotation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import boto3
import pg8000.exceptions
import pytest

from idp.config import read_secret, reset_settings
from idp.db import Database, get_database, reset_database

PASSWORD = "rotated-" + uuid.uuid4().hex[:12]
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _as_user(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    credentials = f"{user}:{password}" if password else user
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


def _drop_role(admin: Database, role: str) -> None:
    admin.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r", r=role)
    admin.run(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def admin(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.close()


@pytest.fixture
def roles(admin: Database) -> Iterator[tuple[str, str]]:
    """Two login roles, as Secrets Manager's alternating-users rotation keeps them."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"idp_rotation_{suffix}_a", f"idp_rotation_{suffix}_b")
    for name in names:
        admin.run(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{PASSWORD}'")
    yield names
    for name in names:
        _drop_role(admin, name)


def test_a_rotated_secret_is_read_anew_when_authentication_fails(
    monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, database_url: str, admin: Database, roles: tuple[str, str]
) -> None:
    # The test server trusts 127.0.0.1 (pg_hba "trust"), so a changed password cannot make a
    # login fail there. The rotation here is the alternating-users one: the secret moves from
    # role a to role b and role a is dropped, so the URL read before fails with SQLSTATE 28000.
    old_role, new_role = roles
    secret_id = f"idp/test/database-{uuid.uuid4().hex[:8]}"
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=secret_id, SecretString=_as_user(database_url, old_role, PASSWORD))
    monkeypatch.setenv("DATABASE_SECRET_ID", secret_id)
    monkeypatch.delenv("DATABASE_SCHEMA", raising=False)
    reset_settings()
    reset_database()
    try:
        db = get_database()
        assert db.run("SELECT current_user") == [[old_role]]

        secrets.put_secret_value(SecretId=secret_id, SecretString=_as_user(database_url, new_role, PASSWORD))
        _drop_role(admin, old_role)
        assert old_role in read_secret(secret_id)  # still the value cached before the rotation
        db.close()  # the connection is gone (a broken socket, a new container): the next one is new

        assert db.run("SELECT current_user") == [[new_role]]
        assert new_role in read_secret(secret_id)  # the forced read refreshed the cache too
    finally:
        reset_database()
        reset_settings()


def test_an_authentication_failure_with_an_unchanged_secret_is_raised(database_url: str) -> None:
    url = _as_user(database_url, f"idp_nobody_{uuid.uuid4().hex[:8]}")
    reads: list[str] = []

    def reread() -> str:
        reads.append(url)
        return url

    db = Database(url, reread_url=reread)
    with pytest.raises(pg8000.exceptions.DatabaseError) as raised:
        db.run("SELECT 1")
    assert raised.value.args[0]["C"] == "28000"
    assert len(reads) == 1  # read once, and not retried with the same URL
