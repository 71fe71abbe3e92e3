"""Shared fixtures: a real PostgreSQL with migrations applied, a Kubernetes emulator over HTTP,
and the local API gateway running the real functions from template.yaml."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from idp.clients.kubernetes import KubeClient
from idp.config import reset_settings
from idp.db import Database, apply_migrations, reset_database

if TYPE_CHECKING:
    from idp.client import ApiClient
    from idp_local.emulators.argocd import ArgoCdEmulator
    from idp_local.emulators.kubernetes import KubernetesEmulator
    from idp_local.emulators.oidc import OidcIssuer
    from idp_local.emulators.secrets_extension import SecretsExtensionEmulator
    from idp_local.gateway import LocalGateway
    from idp_local.poller import DeployPoller

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
TEST_KEYS_SECRET_ID = "idp/test/jwt-signing-keys"
SESSION_TOKEN = "test-session-token"  # AWS_SESSION_TOKEN, which the Parameters and Secrets extension asks for
TEST_OIDC_AUDIENCE = "idp-test-client"  # the platform's client id at the test OIDC issuer
# The chat-ops role as template.yaml names it locally (stack "local"): the only caller the auth
# function admits on /auth/slack/*; the gateway knows the test AWS key as a session of it.
CHATOPS_ROLE_ARN = "arn:aws:iam::123456789012:role/local-chatops"
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _reachable(url: str) -> bool:
    try:
        Database(url).run("SELECT 1")
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_DATABASE_URL, else the machine's PostgreSQL on 127.0.0.1:5432, else pgserver."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE
    if os.environ.get("TEST_DATABASE_URL") or _reachable(url):
        yield url
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()


@pytest.fixture(scope="session")
def database_schema(database_url: str) -> Iterator[str]:
    """A fresh schema per test session, migrated, dropped at the end."""
    schema = f"idp_test_{uuid.uuid4().hex[:12]}"
    db = Database(database_url, schema=schema)
    apply_migrations(db, ROOT / "infra" / "migrations")
    db.close()
    yield schema
    admin = Database(database_url)
    admin.run(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.close()


@pytest.fixture
def db(database_url: str, database_schema: str) -> Iterator[Database]:
    """A connection to the migrated schema; every table emptied before the test."""
    database = Database(database_url, schema=database_schema)
    tables = [
        r[0]
        for r in database.run(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'schema_migrations'",
            s=database_schema,
        )
    ]
    if tables:
        database.run(f"TRUNCATE {', '.join(tables)} CASCADE")
    yield database
    database.close()


@pytest.fixture(scope="session")
def kube_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubernetesEmulator]:
    from idp_local.emulators.kubernetes import KubernetesEmulator

    emulator = KubernetesEmulator(token="emulator-admin-token").start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def kubeconfig(kube_emulator: KubernetesEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kube_emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture
def kube(kube_emulator: KubernetesEmulator) -> KubernetesEmulator:
    """The emulator, emptied, for one test."""
    kube_emulator.reset()
    return kube_emulator


@pytest.fixture
def kube_client(kube: KubernetesEmulator, kubeconfig: Path) -> KubeClient:
    """Our Kubernetes adapter, built the way the functions build it, pointed at the emulator."""
    from idp.clients.kubernetes import KubeClient, _api_client
    from idp.config import Settings

    return KubeClient(_api_client(Settings(kubeconfig=str(kubeconfig))))


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto's server over HTTP (Secrets Manager holds the signing keys), like `make dev`'s."""
    from moto.server import ThreadedMotoServer

    from idp_local.dev import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def secrets_extension(aws_endpoint: str) -> Iterator[SecretsExtensionEmulator]:
    """The AWS Parameters and Secrets extension's endpoint (emulated, moto behind it, its cache off as
    template.yaml runs it), through which `platform_env`'s functions read their secrets, as on AWS."""
    import boto3

    from idp_local.emulators.secrets_extension import SecretsExtensionEmulator

    client = boto3.client("secretsmanager", endpoint_url=aws_endpoint, **_boto_args())
    with SecretsExtensionEmulator(client, token=SESSION_TOKEN, cache_enabled=False) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def signing_keys(aws_endpoint: str) -> str:
    """The test key set's secret id, created once in moto."""
    import boto3

    from idp.auth.keys import ensure_keys

    client = boto3.client("secretsmanager", endpoint_url=aws_endpoint, **_boto_args())
    ensure_keys(client, TEST_KEYS_SECRET_ID)
    return TEST_KEYS_SECRET_ID


def _boto_args() -> dict[str, str]:
    return {
        "aws_access_key_id": _AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": _AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": _AWS_ENV["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[OidcIssuer]:
    """A local OpenID Connect issuer over HTTP whose ID tokens the platform accepts."""
    from idp_local.emulators.oidc import OidcIssuer

    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture
def platform_env(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    database_schema: str,
    kubeconfig: Path,
    aws_endpoint: str,
    signing_keys: str,
    secrets_extension: SecretsExtensionEmulator,
    oidc_issuer: OidcIssuer,
    argocd: ArgoCdEmulator,
) -> Iterator[None]:
    """The environment a deployed function would have, pointed at the test database and emulators
    (its secrets read through the Parameters and Secrets extension, as with SecretsExtensionLayerArn)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    for name, value in _AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    for name, value in secrets_extension.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JWT_KEYS_SECRET_ID", signing_keys)
    monkeypatch.setenv("OIDC_ISSUER", oidc_issuer.url)
    monkeypatch.setenv("OIDC_AUDIENCE", TEST_OIDC_AUDIENCE)
    monkeypatch.setenv("KUBERNETES_MODE", "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PLATFORM_ADMINS", '["platform-admin@example.com"]')
    monkeypatch.setenv("CHATOPS_ROLE_ARN", CHATOPS_ROLE_ARN)
    monkeypatch.setenv("ARGOCD_URL", argocd.url)
    monkeypatch.setenv("ARGOCD_TOKEN", argocd.admin_token)
    _reset_caches()
    yield
    _reset_caches()


def _reset_caches() -> None:
    from idp.clients.kubernetes import reset_kube_client
    from idp.deps import reset_clients

    reset_settings()
    reset_database()
    reset_kube_client()
    reset_clients()


@pytest.fixture(scope="session")
def gateway() -> Iterator[LocalGateway]:
    """The local API Gateway serving template.yaml's functions over real HTTP.

    AWS_IAM routes accept the test AWS key (what the in-process chat-ops function signs with)
    as a session of the chat-ops role.
    """
    from idp_local.gateway import IamCredential, LocalGateway
    from idp_local.gateway_iam import role_session_arn

    chatops = IamCredential(_AWS_ENV["AWS_SECRET_ACCESS_KEY"], role_session_arn(CHATOPS_ROLE_ARN, "chatops"))
    credentials = {_AWS_ENV["AWS_ACCESS_KEY_ID"]: chatops}
    gw = LocalGateway(ROOT / "template.yaml", throttle=None, iam_credentials=credentials).start()
    yield gw
    gw.stop()


class Api:
    """The local gateway through the platform's own API client (`idp.client`), signing requests as a
    given user; answers come back as they are (status and body), for the tests to judge."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def token(self, user: str, *, platform_admin: bool = False) -> str:
        from idp.auth.tokens import issue_token
        from idp.config import get_settings

        return issue_token(get_settings(), subject=user, email=user, platform_admin=platform_admin)

    def client(self, user: str | None = "alice@example.com") -> ApiClient:
        from idp.client import ApiClient

        token = self.token(user) if user is not None else None
        return ApiClient(self.base_url, token, timeout=30, session=self.session)

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = "alice@example.com",
        json: object = None,
        headers: dict[str, str] | None = None,
        data: str | None = None,
    ) -> requests.Response:
        return self.client(user).raw(method, path, json=json, data=data, headers=headers)


@pytest.fixture
def api(platform_env: None, db: Database, kube: KubernetesEmulator, gateway: LocalGateway) -> Api:
    """A clean platform (empty tables, empty cluster) behind the local gateway."""
    return Api(gateway.url)


class LogCapture(logging.Handler):
    """Everything the platform logged during a test: the `idp` logger's records and stdout
    (Powertools writes its JSON lines there)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(logging.DEBUG)
        self._capsys = capsys
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps(record.__dict__, default=str))

    def text(self) -> str:
        return "\n".join(self.lines) + self._capsys.readouterr().out


@pytest.fixture
def idp_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[LogCapture]:
    capture = LogCapture(capsys)
    idp_logger = logging.getLogger("idp")
    idp_logger.addHandler(capture)
    yield capture
    idp_logger.removeHandler(capture)


@pytest.fixture(scope="session")
def argocd_emulator() -> Iterator[ArgoCdEmulator]:
    from idp_local.emulators.argocd import ArgoCdEmulator

    with ArgoCdEmulator(sync_polls=1) as emulator:
        yield emulator


@pytest.fixture
def argocd(argocd_emulator: ArgoCdEmulator) -> ArgoCdEmulator:
    """The Argo CD emulator, emptied, finishing a sync at the first poll after it starts."""
    argocd_emulator.reset()
    argocd_emulator.sync_polls = 1
    return argocd_emulator


@pytest.fixture
def deploy_poller(platform_env: None, db: Database) -> Iterator[DeployPoller]:
    """The deploy poller in a background thread (as in `make dev`), every 0.05 s, stopped after the test."""
    from idp.config import get_settings
    from idp_local.poller import DeployPoller

    poller = DeployPoller(get_settings(), interval=0.05).start()
    yield poller
    poller.stop()


# Sections a test adds to the end of the run's output (make test runs without -s): title -> lines.
# tests/test_openapi_fuzz.py reports what schemathesis did there.
TERMINAL_REPORT = pytest.StashKey[dict[str, list[str]]]()


@pytest.fixture
def terminal_report(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    return request.config.stash.setdefault(TERMINAL_REPORT, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for title, lines in config.stash.get(TERMINAL_REPORT, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
