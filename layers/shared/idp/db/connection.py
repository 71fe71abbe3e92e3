"""pg8000 connections: opened once per Lambda container, reused across warm invocations.

Services never commit; the edge (handler, CLI, flow) owns each transaction through
`Database.transaction()`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    import pg8000.native

__all__ = ["Database", "connect", "get_database", "parse_database_url", "reset_database"]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_AUTHENTICATION_FAILURES = frozenset({"28000", "28P01"})
log = logging.getLogger(__name__)


def parse_database_url(url: str) -> dict[str, Any]:
    """pg8000 connect arguments from a URL.

    `postgresql://user:pass@host:port/db` for TCP; `postgresql://user@/db?host=/dir` (a
    directory, as libpq and pgserver write it) or `?unix_sock=/dir/.s.PGSQL.5432` for a socket.
    `?sslmode=` as libpq: disable, require (encrypted, unverified), verify-ca / verify-full (the
    system's CAs); without it pg8000 tries TLS and falls back to plain, as libpq's "prefer".
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+pg8000"):
        raise ValueError("database URL must start with postgresql://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    args: dict[str, Any] = {
        "user": unquote(parts.username or "postgres"),
        "database": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.password:
        args["password"] = unquote(parts.password)
    socket_dir = query.get("host", "")
    if query.get("unix_sock"):
        args["unix_sock"] = query["unix_sock"]
    elif socket_dir.startswith("/"):
        args["unix_sock"] = f"{socket_dir.rstrip('/')}/.s.PGSQL.{parts.port or 5432}"
    else:
        args["host"] = parts.hostname or socket_dir or "localhost"
        args["port"] = parts.port or 5432
    mode = query.get("sslmode")
    if mode == "disable":
        args["ssl_context"] = False  # not even tried: pg8000's default tries TLS first (libpq's "prefer")
    elif mode == "require":
        import ssl

        # Encrypted, not verified: a bare context, not create_default_context(), which would load
        # the system's CA bundle (10-20 ms of a cold start) for a check that is then switched off.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        args["ssl_context"] = context
    elif mode in ("verify-ca", "verify-full"):
        import ssl

        args["ssl_context"] = ssl.create_default_context()
    return args


def _is_authentication_failure(exc: Exception) -> bool:
    """PostgreSQL refused the credentials: SQLSTATE 28P01 (a wrong password) or 28000 (say, a
    role that no longer exists, as when an alternating-users rotation drops the old one)."""
    import pg8000.exceptions

    detail = exc.args[0] if isinstance(exc, pg8000.exceptions.DatabaseError) and exc.args else None
    return isinstance(detail, dict) and detail.get("C") in _AUTHENTICATION_FAILURES


def connect(url: str, *, schema: str | None = None) -> pg8000.native.Connection:
    import pg8000.native

    conn = pg8000.native.Connection(application_name="idp", timeout=30, **parse_database_url(url))
    if schema:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        conn.run(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.run(f"SET search_path TO {schema}")
    return conn


class Database:
    """A lazily opened, reconnecting connection with explicit transactions.

    pg8000.native runs every statement in autocommit unless a transaction is open, so
    `transaction()` issues BEGIN/COMMIT/ROLLBACK itself.
    """

    def __init__(self, url: str, *, schema: str | None = None, reread_url: Callable[[], str] | None = None) -> None:
        self._url = url
        self._schema = schema
        # Reads the URL anew from its secret: a rotated secret makes the URL we hold fail.
        self._reread_url = reread_url
        self._conn: pg8000.native.Connection | None = None
        self._lock = threading.RLock()
        self._depth = 0

    @property
    def connection(self) -> pg8000.native.Connection:
        if self._conn is None:
            try:
                self._conn = connect(self._url, schema=self._schema)
            except Exception as exc:
                # Open connections outlive a rotation; the next one fails to authenticate with
                # the URL read before it. Read the secret once more and retry, once.
                if self._reread_url is None or not _is_authentication_failure(exc):
                    raise
                url = self._reread_url()
                if url == self._url:
                    raise
                log.warning("database authentication failed; connecting with the URL read anew from its secret")
                self._url = url
                self._conn = connect(url, schema=self._schema)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    @property
    def in_transaction(self) -> bool:
        """Whether `transaction()` is open (a statement run now commits only with it)."""
        return self._depth > 0

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        """Runs one statement; outside a transaction a broken connection is reopened once."""
        import pg8000.exceptions

        with self._lock:
            try:
                return self.connection.run(sql, **params) or []
            except (pg8000.exceptions.InterfaceError, OSError):
                if self._depth:
                    raise
                self._drop()
                return self.connection.run(sql, **params) or []

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        with self._lock:
            result = self.run(sql, **params)
            columns: Sequence[dict[str, Any]] = self.connection.columns or []
            names = [c["name"] for c in columns]
            return [dict(zip(names, row, strict=True)) for row in result]

    def row(self, sql: str, **params: Any) -> dict[str, Any] | None:
        found = self.rows(sql, **params)
        return found[0] if found else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN … COMMIT, rolled back on any exception; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.run("BEGIN")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                with contextlib.suppress(Exception):
                    self.connection.run("ROLLBACK")
                raise
            else:
                self._depth = 0
                self.connection.run("COMMIT")


_database: Database | None = None
_database_lock = threading.Lock()


def get_database() -> Database:
    """The container-wide Database built from settings (opened on first use)."""
    global _database
    with _database_lock:
        if _database is None:
            from idp.config import get_settings

            settings = get_settings()
            reread = (lambda: settings.resolved_database_url(force=True)) if settings.database_secret_id else None
            _database = Database(settings.resolved_database_url(), schema=settings.database_schema, reread_url=reread)
        return _database


def reset_database() -> None:
    global _database
    with _database_lock:
        if _database is not None:
            _database.close()
        _database = None
