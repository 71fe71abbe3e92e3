"""Cold starts against their floor: every function of template.yaml, and `idp --help`.

    python bench/cold_start.py [--runs 15] [--budget-seconds 300] [--only NAME...] [--importtime NAME...]

For each function (authorizer, auth, tenant, argocd, poller, chatops), a fresh interpreter
imports the handler the way Lambda does (its CodeUri first on sys.path) and runs its first real
request; the floor is a fresh interpreter importing only the third-party modules that same
request needs (listed per function below, and printed). Both clocks start after the interpreter
is up and the event is parsed (Lambda's runtime does both before our code runs), so the ratio is
what our code adds to the unavoidable imports. Runs are paired and alternate which goes first;
the figures are medians. Then `idp --help` against `python -c pass`, both as whole processes.

The requests do their real work against what the bench starts, all on 127.0.0.1: PostgreSQL
(DATABASE_URL, else 127.0.0.1:5432 `test`, else pgserver; `sslmode=disable`: it speaks no TLS) in
a fresh schema it migrates; moto's server holding every secret the template names (database URL,
signing keys, Argo CD token, Slack secrets), read through the AWS Parameters and Secrets
extension's endpoint (idp_local's emulator, backed by moto, its cache off: as template.yaml runs
every function when SecretsExtensionLayerArn is given); the Kubernetes, Argo CD and Slack
emulators; the local gateway (chat-ops calls the auth function through it). Each function gets its
template Environment with these stand-ins, and AWS_LAMBDA_FUNCTION_NAME and AWS_SESSION_TOKEN as on
Lambda.

- authorizer: REQUEST event for GET /tenants/bench with a platform JWT (keys read through the
  extension: no boto3);
- auth: GET /auth/me (the user and their tenants from PostgreSQL);
- tenant: GET /tenants/bench (the tenant from PostgreSQL);
- argocd: GET /tenants/bench/apps/web (PostgreSQL, and Argo CD's live status over HTTP);
- poller: one scheduled pass (PostgreSQL, Argo CD for the deployment still syncing);
- chatops: a signed `/idp help` (Bolt built, the delivery claimed at the auth function over
  SigV4, the ack).

The ratio is the median of the pairs' ratios (the two runs of a pair share the machine's load of
the moment; the ratio of the medians is printed beside it). `--importtime NAME...` first shows where
those functions' imports go (`python -X importtime`, heaviest first).

Targets: the authorizer <= 1.3x its floor, every other function <= 1.5x, `idp --help` <= 6x
`python -c pass`. The bench stops starting runs after --budget-seconds (each process is killed
after 60 s); exits non-zero when a target is missed or fewer than 7 pairs ran.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
MIN_RUNS = 7
PROCESS_TIMEOUT_S = 60.0
USER = "bench@example.com"
SLACK_USER = "U0ALICE"
REPO = "https://github.com/acme/web"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
SESSION_TOKEN = "bench-session-token"  # what Lambda sets; the extension requires it as a header
CHATOPS_ROLE = "arn:aws:iam::123456789012:role/local-chatops"

# The floors: what each request needs from third parties, imported and nothing else.
_PYDANTIC = [
    "from pydantic import BaseModel, Field, TypeAdapter",  # the API's models (idp.schemas), the settings
    "import annotated_types",  # their constraints (Field(min_length=...)): pydantic imports it for them
    "import pydantic.plugin._loader",  # pydantic imports it when the first model class is made
]
_API_FLOOR = [
    # The resolver with validation (pydantic models at the boundary), and Powertools' Logger and Metrics.
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response",
    "from aws_lambda_powertools.event_handler.api_gateway import Router",
    "from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware",
    "from aws_lambda_powertools import Logger, Metrics",
    *_PYDANTIC,
    "import pg8000.native",
    # No boto3: the database URL (a Secrets Manager secret) comes through the Parameters and Secrets
    # extension, as with template.yaml's SecretsExtensionLayerArn.
]
FLOORS: dict[str, list[str]] = {
    "authorizer": [
        "import jwt, jwt.algorithms",  # PyJWT with its RS256 support (cryptography)
        "from cryptography.hazmat.primitives import serialization",  # the key set's PEMs
    ],
    "auth": _API_FLOOR,
    "tenant": _API_FLOOR,
    "argocd": [*_API_FLOOR, "import requests"],  # Argo CD's REST API
    "poller": [
        "from aws_lambda_powertools import Logger, Metrics",
        *_PYDANTIC,
        "import pg8000.native",
        "import requests",  # Argo CD
    ],
    "chatops": [
        "from chalice import Chalice, Response",
        "from slack_bolt import App",
        "from slack_bolt.adapter.aws_lambda.chalice_handler import ChaliceSlackRequestHandler",
        "from slack_sdk import WebClient",
        "import requests",  # the platform API client
        "from botocore.auth import SigV4Auth",  # its calls to the auth function are SigV4-signed
        *_PYDANTIC,
    ],
}
TARGETS = {"authorizer": 1.3}
DEFAULT_TARGET = 1.5
CLI_TARGET = 6.0

# Runs in the fresh interpreter; reads its job (JSON) on stdin before the clock starts.
PROBE = r"""
import json, sys, time
job = json.loads(sys.stdin.read())
if job["mode"] == "floor":
    t0 = time.perf_counter()
    for statement in job["floor"]:
        exec(statement)
    ms = (time.perf_counter() - t0) * 1000
    import_ms = ms
    outcome = "imported"
else:
    sys.path.insert(0, job["code_dir"])

    class Context:
        function_name = job["function_name"]
        function_version = "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + job["function_name"]
        aws_request_id = "cold-start-bench"
        log_group_name = "/aws/lambda/" + job["function_name"]
        log_stream_name = "bench"

        def get_remaining_time_in_millis(self):
            return job["remaining_ms"]

    event = job["event"]
    t0 = time.perf_counter()
    import importlib
    module_name, _, function = job["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function)
    imported = time.perf_counter()
    result = handler(event, Context())
    ms = (time.perf_counter() - t0) * 1000
    import_ms = (imported - t0) * 1000
    outcome = json.dumps(result, default=str)
roots = sorted({m.split(".")[0] for m in sys.modules})
print("COLD_START " + json.dumps({"ms": ms, "import_ms": import_ms, "outcome": outcome, "modules": roots}))
"""


@dataclass
class Case:
    name: str
    logical_id: str  # in template.yaml
    event: Callable[[], dict[str, Any]]  # built anew for each run (the Slack command needs a fresh trigger id)
    check: Callable[[Any], bool]
    env: dict[str, str] = field(default_factory=dict)
    code_dir: str = ""
    handler: str = ""
    remaining_ms: int = 5000
    floor_ms: list[float] = field(default_factory=list)
    ours_ms: list[float] = field(default_factory=list)
    ours_import_ms: list[float] = field(default_factory=list)  # of ours_ms: importing the handler
    ours_modules: set[str] = field(default_factory=set)
    floor_modules: set[str] = field(default_factory=set)


def _database_url(tmp: Path) -> str:
    from idp.db import Database

    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        Database(DEFAULT_DATABASE).run("SELECT 1")
        return DEFAULT_DATABASE
    except Exception:
        import pgserver

        return str(pgserver.get_server(tmp / "pgdata", cleanup_mode="stop").get_uri())


def _api_event(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str] | None = None,
    *,
    authorizer: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    """The proxy event API Gateway would send (idp_local.gateway_events, as the local gateway builds it)."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from idp_local.gateway_events import proxy_event

    builder = EnvironBuilder(method=method, path="/v1" + path, headers=headers, data=body, content_type=content_type)
    request = Request(builder.get_environ())
    return proxy_event(request, resource=resource, stage="v1", path_parameters=params, authorizer=authorizer)


def _user_context() -> dict[str, Any]:
    """What the authorizer hands the functions for a signed-in user (strings only), as API Gateway passes it."""
    return {
        "principalId": USER,
        "user_id": USER,
        "kind": "user",
        "email": USER,
        "platform_admin": "false",
        "integrationLatency": 3,
    }


@contextmanager
def platform(tmp: Path) -> Iterator[dict[str, Case]]:
    """Everything the requests need, started and seeded; yields the cases with their environments."""
    os.environ.update(LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")  # the bench's own process
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from idp.auth.keys import ensure_keys
    from idp.auth.tokens import issue_token
    from idp.clients.kubernetes import reset_kube_client
    from idp.config import get_settings, reset_settings
    from idp.db import Database, apply_migrations, reset_database
    from idp.deps import reset_clients
    from idp_local.dev import free_port
    from idp_local.emulators.argocd import ArgoCdEmulator
    from idp_local.emulators.kubernetes import KubernetesEmulator
    from idp_local.emulators.slack import SlackEmulator
    from idp_local.emulators.slack.emulator import sign_request
    from idp_local.gateway import IamCredential, LocalGateway
    from idp_local.gateway_events import authorizer_event, method_arn
    from idp_local.gateway_iam import role_session_arn
    from idp_local.template import load_template

    with ExitStack() as stack:
        url = _database_url(tmp)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        db = Database(url, schema=schema)
        apply_migrations(db, ROOT / "infra" / "migrations")
        stack.callback(db.close)
        stack.callback(db.run, f"DROP SCHEMA {schema} CASCADE")

        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        stack.callback(moto.stop)
        aws_url = f"http://127.0.0.1:{port}"
        os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=aws_url)
        sm = boto3.client("secretsmanager")
        keys_id = "idp/bench/jwt-signing-keys"
        ensure_keys(sm, keys_id)
        kube = stack.enter_context(KubernetesEmulator(token="bench-admin-token"))
        kubeconfig = str(kube.write_kubeconfig(tmp / "kubeconfig"))
        # Syncs never finish: every poller pass finds the bench's deployment syncing and asks Argo CD.
        argocd = stack.enter_context(ArgoCdEmulator(sync_duration=3600.0))
        slack = stack.enter_context(SlackEmulator())
        extension = _start_extension(stack, sm)

        def secret(name: str, value: str) -> str:
            return str(sm.create_secret(Name=f"idp/bench/{name}", SecretString=value)["ARN"])

        parameters = {
            # The local server speaks no TLS: sslmode=disable, as one would configure it (without it
            # pg8000 tries TLS first and loads the system's CA bundle to do so).
            "DatabaseSecretArn": secret("database", url + ("&" if "?" in url else "?") + "sslmode=disable"),
            "JwtKeysSecretArn": str(sm.describe_secret(SecretId=keys_id)["ARN"]),
            "PlatformAdmins": "[]",
            "ArgoCdUrl": argocd.url,
            "ArgoCdTokenSecretArn": secret("argocd-token", argocd.admin_token),
            "SlackSigningSecretArn": secret("slack-signing-secret", slack.signing_secret),
            "SlackBotTokenSecretArn": secret("slack-bot-token", slack.bot_token),
            "OidcIssuer": "https://127.0.0.1:9/unused",  # GET /auth/me never asks the issuer
            "OidcAudience": "idp-bench",
        }
        functions = load_template(ROOT / "template.yaml", parameters).functions

        # The bench process itself: the gateway's functions (chat-ops claims its deliveries at the
        # auth function through it) and the seeding read these.
        os.environ.update(
            DATABASE_URL=url,
            DATABASE_SCHEMA=schema,
            JWT_KEYS_SECRET_ID=keys_id,
            KUBERNETES_MODE="kubeconfig",
            KUBECONFIG=kubeconfig,
            ARGOCD_URL=argocd.url,
            ARGOCD_TOKEN=argocd.admin_token,
            SLACK_SIGNING_SECRET=slack.signing_secret,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_API_URL=slack.api_url,
            CHATOPS_ROLE_ARN=CHATOPS_ROLE,
        )
        for reset in (reset_settings, reset_database, reset_kube_client, reset_clients):
            reset()
        chatops_key = {
            AWS_ENV["AWS_ACCESS_KEY_ID"]: IamCredential(
                AWS_ENV["AWS_SECRET_ACCESS_KEY"], role_session_arn(CHATOPS_ROLE, "bench")
            )
        }
        gateway = stack.enter_context(LocalGateway(ROOT / "template.yaml", throttle=None, iam_credentials=chatops_key))
        os.environ["IDP_API_URL"] = gateway.url
        token = issue_token(get_settings(), subject=USER, email=USER)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def call(method: str, path: str, expect: int, body: object = None) -> dict[str, Any]:
            response = session.request(method, gateway.url + path, json=body, timeout=60)
            if response.status_code != expect:
                raise SystemExit(f"seeding: {method} {path}: HTTP {response.status_code} {response.text[:300]}")
            return dict(response.json())

        db.run("INSERT INTO users (id, email, oidc_issuer, oidc_subject) VALUES (:u, :u, 'bench', 'bench')", u=USER)
        tenant = {"name": "bench", "display_name": "Bench", "environments": ["dev"], "repositories": [REPO]}
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' log lines and metrics, in this process
            call("POST", "/tenants", 201, tenant)
            call("POST", "/tenants/bench/apps", 201, {"name": "web", "repo_url": REPO})
            deployment = call(
                "POST", "/tenants/bench/apps/web/deployments", 202, {"environment": "dev", "revision": "v1"}
            )
        if deployment["state"] != "syncing":
            raise SystemExit(f"seeding: the deployment is {deployment['state']}, not syncing")
        db.run(
            "INSERT INTO slack_links (slack_team_id, slack_user_id, user_id, linked_via) VALUES (:t, :s, :u, 'code')",
            t=slack.team_id,
            s=SLACK_USER,
            u=USER,
        )

        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            **AWS_ENV,
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",  # set on Lambda; nothing here calls it
        }
        stand_ins = {
            "DATABASE_SCHEMA": schema,
            "KUBERNETES_MODE": "kubeconfig",  # eks on AWS: the emulator's kubeconfig here
            "KUBECONFIG": kubeconfig,
            "SLACK_API_URL": slack.api_url,
            "IDP_API_URL": gateway.url,
        }

        def env_of(case: Case, extra: dict[str, str] | None = None) -> None:
            spec = functions[case.logical_id]
            name = f"bench-{case.name}"
            case.env = {**base, **spec.environment, **stand_ins, **(extra or {}), "AWS_LAMBDA_FUNCTION_NAME": name}
            case.code_dir, case.handler = str(spec.code_uri), spec.handler

        tenant_path = ("/tenants/bench", "/tenants/{tenant}", {"tenant": "bench"})

        def authorizer() -> dict[str, Any]:
            proxy = _api_event("GET", *tenant_path, headers={"Authorization": f"Bearer {token}"})
            arn = method_arn("v1", "GET", "/tenants/bench")
            return authorizer_event(proxy, payload_type="REQUEST", arn=arn)

        def slash_command() -> dict[str, Any]:
            form = slack.command_form("help", command="/idp", user_id=SLACK_USER, channel_id="C0GENERAL")
            body = urlencode(form)
            ts = str(int(time.time()))
            headers = {
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign_request(slack.signing_secret, ts, body),
            }
            return _api_event(
                "POST",
                "/slack/events",
                "/slack/events",
                headers=headers,
                body=body,
                content_type="application/x-www-form-urlencoded",
            )

        def ok(result: Any) -> bool:
            return isinstance(result, dict) and result.get("statusCode") == 200

        cases = {
            "authorizer": Case(
                "authorizer",
                "AuthorizerFunction",
                authorizer,
                lambda r: r["policyDocument"]["Statement"][0]["Effect"] == "Allow",
            ),
            "auth": Case(
                "auth",
                "AuthFunction",
                lambda: _api_event("GET", "/auth/me", "/auth/me", authorizer=_user_context()),
                ok,
            ),
            "tenant": Case(
                "tenant", "TenantFunction", lambda: _api_event("GET", *tenant_path, authorizer=_user_context()), ok
            ),
            "argocd": Case(
                "argocd",
                "ArgoCdFunction",
                lambda: _api_event(
                    "GET",
                    "/tenants/bench/apps/web",
                    "/tenants/{tenant}/apps/{app}",
                    {"tenant": "bench", "app": "web"},
                    authorizer=_user_context(),
                ),
                ok,
            ),
            "poller": Case(
                "poller",
                "DeployPollerFunction",
                lambda: {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": "123456789012",
                    "time": "2026-01-01T00:00:00Z",
                    "region": "us-east-1",
                    "detail": {},
                },
                lambda r: isinstance(r, dict) and r.get("passes") == 1 and not r.get("errors"),
                remaining_ms=10_500,  # less the 10 s margin: one pass, as a run near its end would make
            ),
            "chatops": Case("chatops", "ChatOpsFunction", slash_command, ok),
        }
        for case in cases.values():
            env_of(case, extension)
        yield cases


def _start_extension(stack: ExitStack, sm: Any) -> dict[str, str]:
    """The extension's endpoint (idp_local's emulator) and what template.yaml's Globals set with it."""
    try:
        from idp_local.emulators.secrets_extension import SecretsExtensionEmulator
    except ImportError:  # before the extension existed: the authorizer reads with boto3
        return {"AWS_SESSION_TOKEN": SESSION_TOKEN}
    emulator = stack.enter_context(SecretsExtensionEmulator(sm, token=SESSION_TOKEN, cache_enabled=False))
    return {"AWS_SESSION_TOKEN": SESSION_TOKEN, **emulator.environment()}


def _probe(job: dict[str, Any], env: dict[str, str], cwd: str, *, importtime: bool = False) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", PROBE],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("COLD_START "):
            result = dict(json.loads(line[len("COLD_START ") :]))
            result["importtime"] = proc.stderr if importtime else ""
            return result
    raise SystemExit(f"{job['mode']} probe failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _ours_job(case: Case) -> dict[str, Any]:
    return {
        "mode": "ours",
        "code_dir": case.code_dir,
        "handler": case.handler,
        "function_name": case.env["AWS_LAMBDA_FUNCTION_NAME"],
        "remaining_ms": case.remaining_ms,
        "event": case.event(),
    }


def run_pair(case: Case, first_ours: bool) -> None:
    floor_job = {"mode": "floor", "floor": FLOORS[case.name]}
    floor_env = {k: case.env[k] for k in ("PATH", "LANG")}
    for mode in ("ours", "floor") if first_ours else ("floor", "ours"):
        if mode == "floor":
            probe = _probe(floor_job, floor_env, case.code_dir)
            case.floor_ms.append(float(probe["ms"]))
            case.floor_modules = set(probe["modules"])
            continue
        probe = _probe(_ours_job(case), case.env, case.code_dir)
        outcome = json.loads(probe["outcome"]) if probe["outcome"].startswith(("{", "[")) else probe["outcome"]
        try:
            good = case.check(outcome)
        except (KeyError, TypeError, IndexError):
            good = False
        if not good:
            raise SystemExit(f"{case.name}: the first request did not succeed: {probe['outcome'][:800]}")
        case.ours_ms.append(float(probe["ms"]))
        case.ours_import_ms.append(float(probe["import_ms"]))
        case.ours_modules = set(probe["modules"])


def print_importtime(case: Case, top: int = 30) -> None:
    """One run of ours under `python -X importtime`: the modules costing most, with what they include."""
    probe = _probe(_ours_job(case), case.env, case.code_dir, importtime=True)
    rows: list[tuple[int, int, str]] = []
    for line in probe["importtime"].splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        own, cumulative, name = (
            part.strip() if i == 2 else int(part.split(":")[-1]) for i, part in enumerate(line.split("|", 2))
        )
        rows.append((int(cumulative), int(own), str(name)))
    print(f"\n{case.name}: {probe['ms']:.1f} ms (import {probe['import_ms']:.1f}); heaviest imports, cumulative:")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1000:8.1f} ms  (self {own / 1000:6.1f})  {name}")


def _wall_ms(argv: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "AWS_"))}
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=PROCESS_TIMEOUT_S, env=env)
    return (time.perf_counter() - started) * 1000


def cli_pairs(runs: int, deadline: float) -> tuple[list[float], list[float]]:
    idp = Path(sys.executable).parent / "idp"
    help_argv = [str(idp), "--help"] if idp.exists() else [sys.executable, "-m", "idp_cli.main", "--help"]
    helps: list[float] = []
    passes: list[float] = []
    for i in range(runs):
        if time.monotonic() > deadline and i >= MIN_RUNS:
            break
        pair = [(helps, help_argv), (passes, [sys.executable, "-c", "pass"])]
        for samples, argv in pair if i % 2 == 0 else reversed(pair):
            samples.append(_wall_ms(argv))
    return helps, passes


def _third_party(modules: set[str], case: Case) -> set[str]:
    own = {"idp", "idp_local", "idp_cli"} | {p.stem for p in Path(case.code_dir).glob("*.py")}
    own |= {p.name for p in Path(case.code_dir).iterdir() if p.is_dir()}
    return {
        m
        for m in modules
        if m not in sys.stdlib_module_names and m not in own and not m.startswith(("_", "__editable__"))
    }


def _imported(statement: str) -> str:
    """`from a.b import C` -> "a.b"; `import a, b.c` -> "a, b.c" (comments dropped)."""
    code = statement.split("#")[0].strip()
    return code.split(" import ")[0].removeprefix("from ") if code.startswith("from ") else code.removeprefix("import ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help=f"paired runs per function (at least {MIN_RUNS})")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="start no run after this long")
    parser.add_argument("--only", nargs="*", help="measure these functions only (names as printed)")
    parser.add_argument("--importtime", nargs="*", help="first, show where these functions' imports go")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes every bench the same arguments
    runs = max(args.runs, MIN_RUNS)
    started = time.monotonic()
    deadline = started + args.budget_seconds
    with tempfile.TemporaryDirectory() as tmp, platform(Path(tmp)) as cases:
        chosen = [c for name, c in cases.items() if not args.only or name in args.only]
        for name in args.importtime or ():
            print_importtime(cases[name])
        print(f"setup {time.monotonic() - started:.1f} s; {runs} paired runs per function", flush=True)
        for i in range(runs):
            if time.monotonic() > deadline:
                print(f"budget of {args.budget_seconds:.0f} s spent after {i} runs", flush=True)
                break
            for case in chosen:
                run_pair(case, first_ours=i % 2 == 1)
    helps, passes = cli_pairs(runs, deadline + 60)

    ok = True
    print(f"\n{'function':<11}{'floor ms':>9}{'ours ms':>9}{'(import)':>9}{'ratio':>7} (of medians)  target  pairs")
    for case in chosen:
        if not case.ours_ms:
            continue
        floor, ours = statistics.median(case.floor_ms), statistics.median(case.ours_ms)
        target = TARGETS.get(case.name, DEFAULT_TARGET)
        # The median of each pair's ratio: the two runs of a pair share the machine's load of the
        # moment, which drifts over a bench run (the ratio of the medians is printed beside it).
        ratio = statistics.median(o / f for o, f in zip(case.ours_ms, case.floor_ms, strict=True))
        met = ratio <= target and len(case.ours_ms) >= MIN_RUNS
        ok &= met
        print(
            f"{case.name:<11}{floor:9.1f}{ours:9.1f}{statistics.median(case.ours_import_ms):9.1f}"
            f"{ratio:6.2f}x ({ours / floor:.2f})  <={target:.1f}x{'' if met else '!'} {len(case.ours_ms):>5}"
        )
    print("\nfloors (third-party imports each first request needs):")
    for case in chosen:
        print(f"  {case.name:<11}{', '.join(_imported(statement) for statement in FLOORS[case.name])}")
        beyond = sorted(_third_party(case.ours_modules, case) - _third_party(case.floor_modules, case))
        if beyond:
            print(f"  {'':<11}ours also loaded: {', '.join(beyond)}")
    auth = cases.get("authorizer")
    if auth is not None and auth.ours_ms:
        print(f"the authorizer's first request loaded boto3: {'yes' if 'boto3' in auth.ours_modules else 'no'}")
    help_ms, pass_ms = statistics.median(helps), statistics.median(passes)
    cli_ratio = help_ms / pass_ms
    ok &= cli_ratio <= CLI_TARGET
    print(
        f"\nidp --help {help_ms:7.1f} ms  vs  python -c pass {pass_ms:6.1f} ms (whole processes, {len(helps)} pairs):"
        f" {cli_ratio:.1f}x, target <= {CLI_TARGET:.0f}x {'met' if cli_ratio <= CLI_TARGET else 'MISSED'}"
    )
    print(f"targets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
