"""Each function runs with its own template Environment, as on Lambda, over the runner's
environment (which wins), even when functions run at the same time in one process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from idp.config import get_settings, reset_settings
from idp_local.lambda_runtime import FunctionRuntime, function_variables
from idp_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  ArgoCdUrl: {Type: String}
  DatabaseSecretArn: {Type: String}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 5
    Environment:
      Variables:
        JWT_ISSUER: from-globals
        DATABASE_SECRET_ID: !Ref DatabaseSecretArn
Resources:
  AdminFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
      Environment:
        Variables:
          PLATFORM_ADMINS: '["root@example.com"]'
          JWT_AUDIENCE: !Sub "${AWS::StackName}-api"
          ARGOCD_URL: !Ref ArgoCdUrl
          OIDC_ISSUER: !Sub "https://${Queue}.example.com"
          SLACK_API_URL: !GetAtt Queue.Arn
  PlainFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
  Queue:
    Type: AWS::SQS::Queue
"""

HANDLER = """\
from idp.config import get_settings


def handler(event, context):
    if "barrier" in event:  # both functions are inside an invocation at once
        event["barrier"].wait(timeout=10)
    settings = get_settings()
    return {
        "platform_admins": settings.platform_admins,
        "jwt_issuer": settings.jwt_issuer,
        "jwt_audience": settings.jwt_audience,
        "database_secret_id": settings.database_secret_id,
        "argocd_url": settings.argocd_url,
        "oidc_issuer": settings.oidc_issuer,
        "slack_api_url": settings.slack_api_url,
    }
"""

READ = ("PLATFORM_ADMINS", "JWT_ISSUER", "JWT_AUDIENCE", "DATABASE_SECRET_ID", "DATABASE_URL", "ARGOCD_URL")


@pytest.fixture
def template_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(HANDLER)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    for name in (*READ, "OIDC_ISSUER", "SLACK_API_URL", "IDP_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield path
    reset_settings()


def runtimes(template_path: Path, **parameters: Any) -> dict[str, FunctionRuntime]:
    model = load_template(template_path, parameters)
    return {name: FunctionRuntime(spec) for name, spec in model.functions.items()}


def test_a_function_sees_the_variables_its_own_template_environment_sets(template_path: Path) -> None:
    functions = runtimes(template_path)
    admin, plain = (functions[name].invoke({}) for name in ("AdminFunction", "PlainFunction"))

    assert admin["platform_admins"] == ["root@example.com"]  # its own Environment
    assert plain["platform_admins"] == []  # another function's is not its
    assert admin["jwt_audience"] == "local-api"  # !Sub of the stack name ("local")
    assert plain["jwt_audience"] == "idp-api"
    assert admin["jwt_issuer"] == plain["jwt_issuer"] == "from-globals"  # Globals, merged as SAM does
    # What exists only on AWS is left out: a parameter without a value, a resource, !GetAtt.
    assert admin["database_secret_id"] is None and admin["argocd_url"] is None
    assert admin["oidc_issuer"] is None and admin["slack_api_url"] == "https://slack.com/api/"
    # Outside an invocation, the runner's own settings.
    assert get_settings().platform_admins == [] and get_settings().jwt_issuer == "idp"


def test_the_runners_environment_wins_and_stands_in_for_aws_resources(
    template_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:idp/db-AbCdEf"
    monkeypatch.setenv("PLATFORM_ADMINS", '["dev@example.com"]')
    monkeypatch.setenv("ARGOCD_URL", "http://127.0.0.1:8004")
    functions = runtimes(template_path, DatabaseSecretArn=arn, ArgoCdUrl="https://argocd.example.com")
    admin = functions["AdminFunction"].invoke({})
    assert admin["platform_admins"] == ["dev@example.com"]  # local configuration, not the template's
    assert admin["argocd_url"] == "http://127.0.0.1:8004"
    assert admin["database_secret_id"] == arn  # nothing local stands in for it: the template's

    # With a local database, the template's secret (which would win over DATABASE_URL) is left out.
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    reset_settings()
    assert functions["AdminFunction"].invoke({})["database_secret_id"] is None


def test_functions_running_at_once_each_see_their_own(template_path: Path) -> None:
    functions = runtimes(template_path)
    for runtime in functions.values():
        runtime.handler()  # loaded first, so both are inside their handlers together
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        admin = pool.submit(functions["AdminFunction"].invoke, {"barrier": barrier})
        plain = pool.submit(functions["PlainFunction"].invoke, {"barrier": barrier})
        assert admin.result(timeout=20)["platform_admins"] == ["root@example.com"]
        assert plain.result(timeout=20)["platform_admins"] == []


def test_the_real_templates_functions_get_only_their_own_variables() -> None:
    functions = load_template(ROOT / "template.yaml").functions
    bare = {name: function_variables(spec, {}) for name, spec in functions.items()}
    # The auth function admits the chat-ops role its template names; no other function knows it.
    assert bare["AuthFunction"]["CHATOPS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/local-chatops"
    assert [name for name, env in bare.items() if "CHATOPS_ROLE_ARN" in env] == ["AuthFunction"]
    assert bare["DeployPollerFunction"]["DEPLOY_POLL_BUDGET_SECONDS"] == "45"
    assert "DEPLOY_POLL_BUDGET_SECONDS" not in bare["ArgoCdFunction"]
    # Secrets and admins are parameters without defaults: only the runner's settings can give them.
    for env in bare.values():
        assert not {"DATABASE_SECRET_ID", "PLATFORM_ADMINS", "JWT_KEYS_SECRET_ID"} & set(env)
        assert env["KUBERNETES_MODE"] == "eks"
    # A kubeconfig from the runner (the emulator's) stands in for EKS.
    local = function_variables(functions["TenantFunction"], {"KUBECONFIG": "/tmp/kubeconfig"})
    assert "KUBERNETES_MODE" not in local
