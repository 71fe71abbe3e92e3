"""`idp dev`: the whole platform on one machine, on embedded defaults.

Each dependency is the real thing when configured and an embedded stand-in otherwise,
and every choice is announced:
- PostgreSQL: DATABASE_URL, else `pgserver` (a real PostgreSQL 16 in a wheel, Unix socket);
- AWS: AWS_ENDPOINT_URL, else moto's server (Secrets Manager holds the platform JWT key);
- Kubernetes: KUBECONFIG / KUBERNETES_MODE, else the Kubernetes API emulator.
Then the migrations run and the local API Gateway serves template.yaml's functions.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["JWT_SECRET_NAME", "DevPlatform", "free_port", "local_token", "main", "use_local_aws"]

log = logging.getLogger("idp.dev")
ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("IDP_STATE_DIR", ROOT / ".idp"))
JWT_SECRET_NAME = "idp/local/jwt-signing-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevPlatform:
    """Starts the embedded stand-ins, sets the environment the functions read, serves the API."""

    host: str = "127.0.0.1"
    port: int = 8000
    state_dir: Path = STATE_DIR
    _stops: list[Callable[[], None]] = field(default_factory=list)
    api_url: str = ""
    kube_url: str = "<your cluster>"

    def start(self) -> DevPlatform:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._database()
        self._aws()
        self._kubernetes()
        self._migrate()
        self._gateway()
        (self.state_dir / "dev.json").write_text(
            json.dumps({"api_url": self.api_url, "aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"]}, indent=2)
        )
        return self

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # pragma: no cover - best effort on shutdown
                log.exception("while stopping")
        self._stops.clear()

    # -- each dependency -----------------------------------------------------------
    def _database(self) -> None:
        if os.environ.get("DATABASE_URL"):
            log.info("PostgreSQL: using DATABASE_URL")
            return
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers
            warnings.simplefilter("ignore")
            import pgserver

        server = pgserver.get_server(self.state_dir / "pgdata", cleanup_mode="stop")
        os.environ["DATABASE_URL"] = server.get_uri()
        log.info("PostgreSQL: no DATABASE_URL, started embedded pgserver (data in %s)", self.state_dir / "pgdata")
        self._stops.append(server.cleanup)

    def _aws(self) -> None:
        if os.environ.get("AWS_ENDPOINT_URL"):
            log.info("AWS: using AWS_ENDPOINT_URL=%s", os.environ["AWS_ENDPOINT_URL"])
        else:
            from moto.server import ThreadedMotoServer

            port = free_port()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            self._stops.append(server.stop)
            use_local_aws(f"http://127.0.0.1:{port}")
            log.info("AWS: no AWS_ENDPOINT_URL, started moto server at %s", os.environ["AWS_ENDPOINT_URL"])
        if not (os.environ.get("JWT_SECRET") or os.environ.get("JWT_SECRET_ID")):
            os.environ["JWT_SECRET_ID"] = ensure_local_jwt_secret()
            log.info("Platform JWT key: Secrets Manager secret %s", JWT_SECRET_NAME)

    def _kubernetes(self) -> None:
        mode = os.environ.get("KUBERNETES_MODE", "kubeconfig")
        if mode != "kubeconfig" or os.environ.get("KUBECONFIG"):
            log.info("Kubernetes: using %s", os.environ.get("KUBECONFIG") or f"KUBERNETES_MODE={mode}")
            return
        from idp_local.emulators.kubernetes import KubernetesEmulator

        port = int(os.environ.get("IDP_KUBE_EMULATOR_PORT", "8001"))
        emulator = KubernetesEmulator(port=port, token=secrets.token_urlsafe(24)).start()
        self._stops.append(emulator.stop)
        path = emulator.write_kubeconfig(self.state_dir / "kubeconfig")
        self.kube_url = emulator.url
        os.environ["KUBECONFIG"] = str(path)
        log.info(
            "Kubernetes: no KUBECONFIG, started the Kubernetes API emulator at %s (kubeconfig %s)", emulator.url, path
        )

    def _migrate(self) -> None:
        from idp.config import reset_settings
        from idp.db import apply_migrations, get_database, reset_database

        reset_settings()
        reset_database()
        applied = apply_migrations(get_database())
        log.info("Migrations: %s", ", ".join(applied) if applied else "up to date")

    def _gateway(self) -> None:
        from idp_local.gateway import LocalGateway

        gateway = LocalGateway(ROOT / "template.yaml", host=self.host, port=self.port).start()
        self._stops.append(gateway.stop)
        self.api_url = gateway.url
        log.info("API: serving template.yaml's functions at %s", self.api_url)


def use_local_aws(endpoint_url: str) -> None:
    """Points boto3 (and so Powertools Parameters) at a local AWS endpoint with dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)


def ensure_local_jwt_secret() -> str:
    """Creates the local signing key in (moto's) Secrets Manager once; returns its id."""
    import boto3

    client = boto3.client("secretsmanager")
    try:
        client.describe_secret(SecretId=JWT_SECRET_NAME)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=JWT_SECRET_NAME, SecretString=secrets.token_urlsafe(48))
    return JWT_SECRET_NAME


def local_token(user: str, *, platform_admin: bool = False, ttl_seconds: int = 12 * 3600) -> str:
    """A platform token signed with the configured key (for local use and demos)."""
    from idp.auth.tokens import issue_token
    from idp.config import get_settings

    return issue_token(get_settings(), subject=user, email=user, platform_admin=platform_admin, ttl_seconds=ttl_seconds)


def main(host: str = "127.0.0.1", port: int = 8000) -> None:
    logging.basicConfig(level=logging.INFO, format="[idp dev] %(message)s")
    # pgserver logs every initdb line at INFO; our own announcements say what matters.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    platform = DevPlatform(host=host, port=port).start()
    token = local_token("alice@example.com")
    print(
        f"""
The IDP API is up at {platform.api_url}

Get a token (platform tokens are short-lived JWTs; this one is for alice@example.com):
  export TOKEN=$(.venv/bin/idp dev-token alice@example.com)
  # or use this one, valid 12 h:
  export TOKEN={token}

Create a tenant:
  curl -s -X POST {platform.api_url}/tenants -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"name": "payments", "display_name": "Payments team"}}'

See the tenant, and what Kubernetes now holds (kubeconfig: {os.environ["KUBECONFIG"]}):
  curl -s {platform.api_url}/tenants/payments -H "Authorization: Bearer $TOKEN"
  curl -s '{platform.kube_url}/_emulator/objects?resource=resourcequotas&namespace=payments-prod'

Ctrl-C stops everything.""",
        flush=True,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        stopping.wait()
    finally:
        platform.stop()
