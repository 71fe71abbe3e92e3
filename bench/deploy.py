"""Deployments, measured: the argocd function's cold start, its warm API, the poller, end to end.

    python bench/deploy.py [-n 100]

Starts what it needs in-process (PostgreSQL from DATABASE_URL, else the machine's on
127.0.0.1:5432 `test`, else pgserver, in a fresh schema; the Argo CD and Kubernetes
emulators; moto's server holding the signing keys; the local gateway with template.yaml's
functions), creates the tenant `shop` (dev, prod) with the app `web` and 50 apps
`web-0`..`web-49` over HTTP, then measures:

1. cold start: median ms (5 fresh interpreters) to import functions/argocd/app.py and
   functions/argocd/poller.py, and which heavy clients (requests, pg8000, boto3, slack_sdk,
   kubernetes) that import pulled in (none should be);
2. warm API through the gateway (real HTTP; one token, so the authorizer's cache answers as
   API Gateway's would): p50/p90/p99/max over -n requests of
   `POST /tenants/shop/apps/web/deployments` to dev (no approval: the insert, the Argo CD
   Application upsert and the sync start) and of `GET /deployments/{id}`; between two
   requests an untimed poller pass finishes the previous sync, so each POST starts one;
3. poller: one `tracking.poll_once` pass over 50 syncing deployments (one per app) whose Argo
   CD syncs have finished (emulator sync_polls=1), seconds per pass and per deployment,
   best/median/worst of 3 rounds;
4. end to end: median/max time (over max(10, n/5) runs) from the POST to
   `GET /deployments/{id}` reading `succeeded`, polled every 10 ms, with the local poller
   thread passing every 0.1 s and the emulator's sync taking 0 s.

The functions run with LOG_LEVEL=WARNING and Powertools metrics off, to keep stdout to numbers.

Targets: POST warm p99 < 1000 ms; a poller pass over 50 deployments < 10 s (the scheduled
run polls for 45 s). Exits non-zero when one is missed.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
TARGET_POST_P99_MS = 1000.0
TARGET_PASS_S = 10.0
POLLED_APPS = 50
OWNER = "alice@example.com"
REPO = "https://github.com/acme/web"
HEAVY = ("requests", "pg8000", "boto3", "slack_sdk", "kubernetes")
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}

IMPORT_PROBE = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("probe", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["probe"] = module
spec.loader.exec_module(module)
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({"ms": ms, "loaded": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def import_cost(handler: Path, runs: int = 5) -> tuple[float, list[str]]:
    """Median import ms of `handler` in fresh interpreters, and the heavy modules it imported."""
    times: list[float] = []
    heavy: set[str] = set()
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE, str(handler)], check=True, capture_output=True, text=True
        ).stdout
        probe = json.loads(out.splitlines()[-1])
        times.append(float(probe["ms"]))
        heavy |= set(HEAVY) & set(probe["loaded"])
    return statistics.median(times), sorted(heavy)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _spread(samples: list[float]) -> str:
    p50, p90, p99 = (_percentile(samples, q) for q in (0.5, 0.9, 0.99))
    return f"p50 {p50:6.1f}  p90 {p90:6.1f}  p99 {p99:6.1f}  max {max(samples):6.1f} ms"


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


class Api:
    """HTTP to the local gateway as one user, with one platform token (as a CLI reuses its token)."""

    def __init__(self, base_url: str, user: str) -> None:
        from idp.auth.tokens import issue_token
        from idp.config import get_settings

        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        token = issue_token(get_settings(), subject=user, email=user)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int, body: object = None) -> dict[str, Any]:
        response = self.session.request(method, self.base_url + path, json=body, timeout=30)
        if response.status_code != expect:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    def deploy(self, app: str, revision: str) -> dict[str, Any]:
        body = {"environment": "dev", "revision": revision}
        return self.call("POST", f"/tenants/shop/apps/{app}/deployments", 202, body)


@dataclass
class Platform:
    api: Api
    argocd: Any  # idp_local.emulators.argocd.ArgoCdEmulator
    poll: Callable[[], Any]  # one tracking.poll_once pass on its own connection; returns the PollSummary


@contextmanager
def platform() -> Iterator[Platform]:
    """Everything started, the environment a deployed function would have, the tenant and apps created."""
    # Before idp's loggers exist: no INFO lines or metrics (the setup's) among the numbers.
    os.environ.update(LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    import boto3
    from moto.server import ThreadedMotoServer

    from idp.auth.keys import ensure_keys
    from idp.clients.argocd import ArgoCdClient
    from idp.clients.kubernetes import reset_kube_client
    from idp.config import reset_settings
    from idp.db import Database, apply_migrations, reset_database
    from idp.deploy import tracking
    from idp.deps import reset_clients
    from idp_local.dev import free_port
    from idp_local.emulators.argocd import ArgoCdEmulator
    from idp_local.emulators.kubernetes import KubernetesEmulator
    from idp_local.gateway import LocalGateway

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        url = _database_url(Path(tmp))
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        db = Database(url, schema=schema)
        apply_migrations(db, ROOT / "infra" / "migrations")
        stack.callback(db.close)
        stack.callback(db.run, f"DROP SCHEMA {schema} CASCADE")
        kube = stack.enter_context(KubernetesEmulator(token="bench-admin-token"))
        argocd = stack.enter_context(ArgoCdEmulator(sync_duration=0))
        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        stack.callback(moto.stop)
        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=AWS_ENV["AWS_REGION"],
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        ensure_keys(secrets, "idp/bench/jwt-signing-keys")
        gateway = stack.enter_context(LocalGateway(ROOT / "template.yaml", throttle=None))
        os.environ.update(
            AWS_ENV,
            DATABASE_URL=url,
            DATABASE_SCHEMA=schema,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            JWT_KEYS_SECRET_ID="idp/bench/jwt-signing-keys",
            KUBERNETES_MODE="kubeconfig",
            KUBECONFIG=str(kube.write_kubeconfig(Path(tmp) / "kubeconfig")),
            ARGOCD_URL=argocd.url,
            ARGOCD_TOKEN=argocd.admin_token,
        )
        for reset in (reset_settings, reset_database, reset_kube_client, reset_clients):
            reset()
        api = Api(gateway.url, OWNER)
        tenant = {"name": "shop", "display_name": "Shop", "environments": ["dev", "prod"], "repositories": [REPO]}
        api.call("POST", "/tenants", 201, tenant)
        for name in ["web", *(f"web-{i}" for i in range(POLLED_APPS))]:
            api.call("POST", "/tenants/shop/apps", 201, {"name": name, "repo_url": REPO})
        poll_db = Database(url, schema=schema)
        stack.callback(poll_db.close)
        client = ArgoCdClient(argocd.url, argocd.admin_token)
        stack.callback(client.close)
        yield Platform(api, argocd, lambda: tracking.poll_once(poll_db, client, None))


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def warm_api(p: Platform, count: int) -> tuple[float, list[float], list[float]]:
    """(first POST ms, warm POST ms, warm GET ms); each POST starts a sync, the untimed pass after it ends it."""
    p.argocd.sync_polls, p.argocd.sync_duration = None, 0.0
    posts: list[float] = []
    gets: list[float] = []
    first = 0.0
    for i in range(count + 1):
        started = time.perf_counter()
        deployment = p.api.deploy("web", f"v{i}")
        elapsed = _ms_since(started)
        if deployment["state"] != "syncing":
            raise SystemExit(f"deployment {i} is {deployment['state']} (not syncing): {deployment.get('message')}")
        started = time.perf_counter()
        p.api.call("GET", f"/deployments/{deployment['id']}", 200)
        if i == 0:
            first = elapsed
        else:
            posts.append(elapsed)
            gets.append(_ms_since(started))
        if p.poll().succeeded != 1:
            raise SystemExit(f"the pass after deployment {i} did not finish its sync")
    return first, posts, gets


def poller_passes(p: Platform, rounds: int = 3) -> list[float]:
    """Seconds of one pass over POLLED_APPS syncing deployments whose syncs are done, per round."""
    p.argocd.sync_polls = 1  # done at the first read after the sync starts
    seconds: list[float] = []
    for r in range(rounds):
        for i in range(POLLED_APPS):
            if p.api.deploy(f"web-{i}", f"r{r}")["state"] != "syncing":
                raise SystemExit(f"web-{i}: the deployment did not start syncing")
        started = time.perf_counter()
        summary = p.poll()
        seconds.append(time.perf_counter() - started)
        if summary.succeeded != POLLED_APPS or summary.errors:
            raise SystemExit(f"the pass did not finish all {POLLED_APPS} deployments: {summary}")
    return seconds


def end_to_end(p: Platform, runs: int) -> list[float]:
    """Ms from the POST to `succeeded` as read over the API, with the poller thread every 0.1 s."""
    from idp.config import get_settings
    from idp_local.poller import DeployPoller

    p.argocd.sync_polls, p.argocd.sync_duration = None, 0.0
    times: list[float] = []
    with DeployPoller(get_settings(), interval=0.1):
        for i in range(runs):
            started = time.perf_counter()
            deployment_id = p.api.deploy("web", f"e2e-{i}")["id"]
            while (state := p.api.call("GET", f"/deployments/{deployment_id}", 200)["state"]) != "succeeded":
                if state == "failed" or time.perf_counter() - started > 30:
                    raise SystemExit(f"end-to-end deployment {i}: {state}")
                time.sleep(0.01)
            times.append(_ms_since(started))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=100, help="warm requests to time")
    args = parser.parse_args(argv)
    for handler in ("app.py", "poller.py"):
        ms, heavy = import_cost(ROOT / "functions" / "argocd" / handler)
        print(f"import functions/argocd/{handler:9} (cold start): {ms:7.1f} ms  heavy: {', '.join(heavy) or 'none'}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with platform() as p:
        first, posts, gets = warm_api(p, args.requests)
        passes = poller_passes(p)
        e2e = end_to_end(p, max(10, args.requests // 5))
    print(f"first POST deployment (loads the function):  {first:7.1f} ms")
    print(f"POST deployment  warm over {len(posts)}: {_spread(posts)}")
    print(f"GET /deployments warm over {len(gets)}: {_spread(gets)}")
    best, median, worst = min(passes), statistics.median(passes), max(passes)
    print(
        f"poller pass, {POLLED_APPS} finished syncs ({len(passes)} rounds): best {best:5.2f}  median {median:5.2f}"
        f"  worst {worst:5.2f} s  ({median / POLLED_APPS * 1000:5.1f} ms per deployment)"
    )
    print(
        f"end to end, POST to succeeded (poller every 0.1 s, over {len(e2e)}):"
        f" median {statistics.median(e2e):6.1f}  max {max(e2e):6.1f} ms"
    )
    post_ok = _percentile(posts, 0.99) < TARGET_POST_P99_MS
    pass_ok = worst < TARGET_PASS_S
    print(f"target POST warm p99 < {TARGET_POST_P99_MS:.0f} ms: {'met' if post_ok else 'MISSED'}")
    print(f"target poller pass over {POLLED_APPS} < {TARGET_PASS_S:.0f} s: {'met' if pass_ok else 'MISSED'}")
    return 0 if post_ok and pass_ok else 1


if __name__ == "__main__":
    sys.exit(main())
