"""`idp dev`: the whole platform on one machine, on embedded defaults.

Each dependency is the real thing when configured and an embedded stand-in otherwise,
and every choice is announced:
- PostgreSQL: DATABASE_URL, else `pgserver` (a real PostgreSQL 16 in a wheel, Unix socket);
- AWS: AWS_ENDPOINT_URL, else moto's server (Secrets Manager holds the platform tokens'
  RS256 key set, JWT_KEYS_SECRET_ID, created if missing), read by every function through the AWS
  Parameters and Secrets extension's endpoint, emulated on IDP_SECRETS_EXTENSION_PORT (2773);
- sign-in: OIDC_ISSUER, else the local OIDC issuer on IDP_OIDC_PORT (default 8002);
- Kubernetes: KUBECONFIG / KUBERNETES_MODE, else the Kubernetes API emulator;
- Slack: SLACK_BOT_TOKEN (with SLACK_SIGNING_SECRET), else the Slack emulator on
  IDP_SLACK_PORT (default 8003), whose Web API the chat-ops function calls (SLACK_API_URL)
  and which `idp chat` drives to send signed slash commands to `{api}/slack/events`;
- Argo CD: ARGOCD_URL (with ARGOCD_TOKEN), else the Argo CD emulator on IDP_ARGOCD_PORT
  (default 8004).
Then the migrations run, the local API Gateway serves template.yaml's functions, and a
background thread runs the deploy poller in place of its EventBridge schedule. The gateway
checks SigV4 on the AWS_IAM routes (/auth/slack/*) against this process's AWS credentials,
which stand for the chat-ops role (CHATOPS_ROLE_ARN, the template's): the chat-ops function,
running in this process, signs with them.
`idp dev-token USER` signs in for real: the device flow at the local issuer, then
`POST /auth/token` with the ID token it hands out.
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

__all__ = [
    "DEV_CLIENT_ID",
    "JWT_KEYS_SECRET_NAME",
    "LOCAL_PLATFORM_ADMIN",
    "DevPlatform",
    "free_port",
    "local_token",
    "main",
    "use_local_aws",
]

log = logging.getLogger("idp.dev")
ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("IDP_STATE_DIR", ROOT / ".idp"))
JWT_KEYS_SECRET_NAME = "idp/local/jwt-signing-keys"
DEV_CLIENT_ID = "idp-cli"  # the platform's client id at the local OIDC issuer (the ID tokens' aud)
LOCAL_PLATFORM_ADMIN = "admin@example.com"  # PLATFORM_ADMINS when unset


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
    oidc_url: str | None = None  # the local OIDC issuer, when started
    slack_url: str | None = None  # the Slack emulator, when started
    argocd_url: str = ""
    argocd_emulated: bool = False  # the Argo CD emulator stands in for Argo CD
    aws_emulated: bool = False  # moto's server stands in for AWS

    def start(self) -> DevPlatform:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            steps = (self._database, self._aws, self._oidc, self._kubernetes, self._slack, self._argocd, self._migrate)
            for step in steps:
                step()
            self._gateway()
            self._poller()
        except BaseException:
            self.stop()  # a port in use, say: leave no PostgreSQL or server behind
            raise
        state = {
            "api_url": self.api_url,
            "aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"],
            "oidc_issuer": self.oidc_url,
            "oidc_client_id": DEV_CLIENT_ID if self.oidc_url else None,
            "slack_url": self.slack_url,
            "slack_signing_secret": os.environ["SLACK_SIGNING_SECRET"] if self.slack_url else None,
            "argocd_url": self.argocd_url,
            "argocd_emulator": self.argocd_emulated,
        }
        (self.state_dir / "dev.json").write_text(json.dumps(state, indent=2))
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
            self.aws_emulated = True
            log.info("AWS: no AWS_ENDPOINT_URL, started moto server at %s", os.environ["AWS_ENDPOINT_URL"])
        secret_id = os.environ.setdefault("JWT_KEYS_SECRET_ID", JWT_KEYS_SECRET_NAME)
        created = ensure_local_signing_keys(secret_id)
        log.info("Platform token keys: Secrets Manager secret %s (%s)", secret_id, "created" if created else "existing")
        if not os.environ.get("PLATFORM_ADMINS"):
            os.environ["PLATFORM_ADMINS"] = json.dumps([LOCAL_PLATFORM_ADMIN])
            log.info("Platform admins: no PLATFORM_ADMINS, using %s", LOCAL_PLATFORM_ADMIN)
        self._secrets_extension()

    def _secrets_extension(self) -> None:
        """The AWS Parameters and Secrets extension's endpoint, emulated: every function reads its
        secrets through it (idp.env.read_secret), as on AWS with the template's SecretsExtensionLayerArn."""
        if os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):
            log.info(
                "Secrets: through the Parameters and Secrets extension on port %s (its variable is set)",
                os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"],
            )
            return
        if not os.environ.get("AWS_SESSION_TOKEN"):
            if not self.aws_emulated:  # real credentials: a made-up session token would break them
                log.info("Secrets: read with boto3 (no AWS_SESSION_TOKEN to show a Parameters and Secrets extension)")
                return
            os.environ["AWS_SESSION_TOKEN"] = secrets.token_urlsafe(24)  # what Lambda sets; moto takes any
        import boto3

        from idp_local.emulators.secrets_extension import SecretsExtensionEmulator

        port = int(os.environ.get("IDP_SECRETS_EXTENSION_PORT", "2773"))
        emulator = SecretsExtensionEmulator(
            boto3.client("secretsmanager"), token=os.environ["AWS_SESSION_TOKEN"], port=port, cache_enabled=False
        ).start()
        self._stops.append(emulator.stop)
        os.environ.update(emulator.environment())
        log.info(
            "Secrets: the AWS Parameters and Secrets extension's endpoint emulated at %s, serving %s's Secrets "
            "Manager (its cache off, as template.yaml runs it); every function reads its secrets through it",
            emulator.base_url,
            "moto" if self.aws_emulated else os.environ["AWS_ENDPOINT_URL"],
        )

    def _oidc(self) -> None:
        if os.environ.get("OIDC_ISSUER"):
            audience = os.environ.get("OIDC_AUDIENCE")
            log.info("Sign-in: using OIDC_ISSUER=%s (audience %s)", os.environ["OIDC_ISSUER"], audience)
            return
        from idp_local.emulators.oidc import OidcIssuer

        port = int(os.environ.get("IDP_OIDC_PORT", "8002"))
        issuer = OidcIssuer(host=self.host, port=port).start()
        self._stops.append(issuer.stop)
        self.oidc_url = issuer.url
        os.environ["OIDC_ISSUER"] = issuer.url
        os.environ["OIDC_AUDIENCE"] = DEV_CLIENT_ID
        log.info(
            "Sign-in: no OIDC_ISSUER, started the local OIDC issuer at %s (client id %s)", issuer.url, DEV_CLIENT_ID
        )

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

    def _slack(self) -> None:
        if os.environ.get("SLACK_BOT_TOKEN"):
            log.info("Slack: using SLACK_BOT_TOKEN (the Slack at %s)", os.environ.get("SLACK_API_URL") or "slack.com")
            return
        from idp_local.emulators.slack import SlackEmulator

        port = int(os.environ.get("IDP_SLACK_PORT", "8003"))
        signing_secret = os.environ.get("SLACK_SIGNING_SECRET") or secrets.token_hex(16)
        bot_token = f"xoxb-local-{secrets.token_hex(12)}"
        emulator = SlackEmulator(self.host, port, bot_token=bot_token, signing_secret=signing_secret).start()
        self._stops.append(emulator.stop)
        self.slack_url = emulator.url
        os.environ.update(SLACK_API_URL=emulator.api_url, SLACK_BOT_TOKEN=bot_token)
        os.environ["SLACK_SIGNING_SECRET"] = signing_secret
        log.info(
            "Slack: no SLACK_BOT_TOKEN, started the Slack emulator at %s (Web API %s)", emulator.url, emulator.api_url
        )

    def _argocd(self) -> None:
        if os.environ.get("ARGOCD_URL"):
            self.argocd_url = os.environ["ARGOCD_URL"]
            log.info("Argo CD: using ARGOCD_URL=%s", self.argocd_url)
            return
        from idp_local.emulators.argocd import ArgoCdEmulator

        port = int(os.environ.get("IDP_ARGOCD_PORT", "8004"))
        # A sync takes a couple of seconds, long enough to watch `idp deploy`'s progress line.
        emulator = ArgoCdEmulator(self.host, port, admin_token=secrets.token_urlsafe(24), sync_duration=2.0).start()
        self._stops.append(emulator.stop)
        self.argocd_url, self.argocd_emulated = emulator.url, True
        os.environ.update(ARGOCD_URL=emulator.url, ARGOCD_TOKEN=emulator.admin_token)
        log.info(
            "Argo CD: no ARGOCD_URL, started the Argo CD emulator at %s (it stands in for Argo CD's API server)",
            emulator.url,
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
        from idp_local.gateway_iam import process_credentials_as
        from idp_local.template import REGION

        region = os.environ.get("AWS_REGION") or REGION
        gateway = LocalGateway(ROOT / "template.yaml", host=self.host, port=self.port, iam_region=region)
        # What the auth function admits on /auth/slack/*: the role the template names for chat-ops.
        template_role = gateway.model.functions["AuthFunction"].environment["CHATOPS_ROLE_ARN"]
        role_arn = os.environ.setdefault("CHATOPS_ROLE_ARN", template_role)
        gateway.iam_credentials.update(process_credentials_as(role_arn, "chatops"))
        gateway.start()
        self._stops.append(gateway.stop)
        self.api_url = gateway.url
        # The chat-ops function calls the API back over HTTP (on AWS it derives the URL from
        # the request's https domain; locally the gateway is plain http).
        os.environ.setdefault("IDP_API_URL", self.api_url)
        from idp.config import reset_settings

        reset_settings()
        log.info("API: serving template.yaml's functions at %s", self.api_url)

    def _poller(self) -> None:
        from idp.config import get_settings
        from idp_local.poller import DeployPoller

        # Every second unless DEPLOY_POLL_INTERVAL_SECONDS says otherwise (the schedule's 5 s is slow to watch).
        interval = None if os.environ.get("DEPLOY_POLL_INTERVAL_SECONDS") else 1.0
        poller = DeployPoller(get_settings(), interval=interval).start()
        self._stops.append(poller.stop)
        log.info(
            "Deploy poller: a background thread polls every %s s (it stands in for the EventBridge schedule "
            "of DeployPollerFunction; DEPLOY_POLL_INTERVAL_SECONDS)",
            f"{poller.interval:g}",
        )


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


def ensure_local_signing_keys(secret_id: str) -> bool:
    """Creates the platform tokens' key set in (moto's) Secrets Manager if missing; True when it did."""
    import boto3

    from idp.auth.keys import ensure_keys

    return ensure_keys(boto3.client("secretsmanager"), secret_id)


def local_token(user: str, *, api_url: str, oidc_issuer: str, client_id: str = DEV_CLIENT_ID) -> str:
    """A platform token for `user`, by signing in the way a person does.

    The device flow at the local OIDC issuer (request a code, approve it as `user`, redeem
    it for an ID token), then `POST /auth/token` with that ID token.
    """
    import requests

    from idp_local.emulators.oidc import DEVICE_CODE_GRANT

    session = requests.Session()

    def post(url: str, *, data: dict[str, str] | None = None, json: object = None) -> dict[str, str]:
        response = session.post(url, data=data, json=json, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"sign-in failed at {url}: HTTP {response.status_code} {response.text[:300]}")
        return dict(response.json())

    issuer = oidc_issuer.rstrip("/")
    grant = post(f"{issuer}/device/authorize", data={"client_id": client_id, "scope": "openid email profile"})
    approved = session.get(f"{issuer}/device", params={"user_code": grant["user_code"], "user": user}, timeout=30)
    if approved.status_code != 200:
        raise RuntimeError(f"the local OIDC issuer did not approve the sign-in: HTTP {approved.status_code}")
    tokens = post(
        f"{issuer}/token",
        data={"grant_type": DEVICE_CODE_GRANT, "device_code": grant["device_code"], "client_id": client_id},
    )
    exchanged = post(f"{api_url.rstrip('/')}/auth/token", json={"id_token": tokens["id_token"]})
    return exchanged["access_token"]


def main(host: str = "127.0.0.1", port: int = 8000) -> None:
    logging.basicConfig(level=logging.INFO, format="[idp dev] %(message)s")
    # pgserver logs every initdb line at INFO; our own announcements say what matters.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    platform = DevPlatform(host=host, port=port).start()
    from idp.config import get_settings

    ttl = get_settings().jwt_ttl_seconds
    if platform.oidc_url:
        sign_in = (
            "Sign in (the device flow at the local OIDC issuer, then POST /auth/token; tokens last\n"
            f"{ttl} s; {LOCAL_PLATFORM_ADMIN} is a platform admin unless PLATFORM_ADMINS names others):\n"
            "  export TOKEN=$(.venv/bin/idp dev-token alice@example.com)\n"
            f'  curl -s {platform.api_url}/auth/me -H "Authorization: Bearer $TOKEN"'
        )
    else:
        sign_in = (
            f"Sign in with an ID token ($ID_TOKEN) from your issuer {os.environ['OIDC_ISSUER']}:\n"
            f'  curl -s -X POST {platform.api_url}/auth/token -H "Authorization: Bearer $ID_TOKEN"\n'
            "  export TOKEN=<its access_token>"
        )
    slack = (
        "\n\nTalk to the chat-ops app as Slack user U0ALICE (alice@example.com) through the Slack emulator\n"
        f"({platform.slack_url}; what the app sent to Slack: {platform.slack_url}/_emulator/calls):\n"
        '  .venv/bin/idp chat "/idp help"'
        if platform.slack_url
        else ""
    )
    print(
        f"""
The IDP API is up at {platform.api_url}

{sign_in}

Create a tenant:
  curl -s -X POST {platform.api_url}/tenants -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"name": "payments", "display_name": "Payments team", "repositories": ["https://github.com/acme/web"]}}'

Register an app (one Argo CD Application per environment) and deploy it
(Argo CD: {platform.argocd_url}; the deploy poller follows the sync):
  curl -s -X POST {platform.api_url}/tenants/payments/apps -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"name": "web", "repo_url": "https://github.com/acme/web"}}'
  curl -s -X POST {platform.api_url}/tenants/payments/apps/web/deployments -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"environment": "dev", "revision": "v1.0.0"}}'

See the tenant, and what Kubernetes now holds (kubeconfig: {os.environ["KUBECONFIG"]}):
  curl -s {platform.api_url}/tenants/payments -H "Authorization: Bearer $TOKEN"
  curl -s '{platform.kube_url}/_emulator/objects?resource=resourcequotas&namespace=payments-prod'{slack}

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
