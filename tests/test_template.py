"""template.yaml lints clean as SAM and as the CloudFormation SAM turns it into, offline,
and declares exactly the routes the Powertools routers serve."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

# Routers served by each function: function logical id -> the Powertools routers it includes.
FUNCTION_ROUTERS = {
    "AuthFunction": ["idp.api.auth", "idp.api.links", "idp.api.slack", "idp.api.service_accounts", "idp.api.contract"],
    "TenantFunction": ["idp.api.tenants", "idp.api.audit"],
    "ArgoCdFunction": ["idp.api.deploy"],
}
# Functions without a Powertools router: function logical id -> the routes their app serves.
# The chat-ops function is a Chalice app (tests/chatops checks its route over HTTP).
OTHER_FUNCTION_ROUTES = {
    "ChatOpsFunction": {("POST", "/slack/events")},
}


class _StubManagedPolicyLoader:
    """What samtranslator would ask IAM for: the managed policies named in the template."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSLambdaVPCAccessExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        }


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    # A plain dict (JSON round trip) so samtranslator may mutate it freely.
    return json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))


def _errors(text: str) -> list[str]:
    # No warnings are expected either: a new one should be fixed or justified here.
    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.linenumber}: {m.message}" for m in matches]


def test_sam_template_lints_clean() -> None:
    assert _errors(TEMPLATE.read_text()) == []


def test_transformed_template_lints_clean(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator asks a boto3 session for it
    fragment = copy.deepcopy(template)
    for resource in fragment["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                assert (ROOT / props[key]).is_dir(), f"{key} {props[key]} does not exist"
                props[key] = "s3://bucket/key"
    output = transform(fragment, {}, _StubManagedPolicyLoader())

    assert "Transform" not in output
    types = {r["Type"] for r in output["Resources"].values()}
    assert {"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::Lambda::LayerVersion"} <= types
    assert _errors(json.dumps(output)) == []


def test_functions_fit_api_gateway(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert "Timeout" not in function_globals  # each function chooses its own
    timeouts = {name: props["Timeout"] for name, props in _functions(template).items()}
    for name, timeout in timeouts.items():
        if _template_routes(template, name):  # behind the API: ends before API Gateway's 29 s
            assert timeout < 29, name
    assert timeouts["AuthorizerFunction"] <= 5  # every uncached request waits for it
    assert timeouts["DeployPollerFunction"] == 60  # scheduled, not behind the API
    assert {"Ref": "SharedLayer"} in function_globals["Layers"]
    env = function_globals["Environment"]["Variables"]
    assert env["KUBERNETES_MODE"] == "eks"


def test_layer_requirements_mirror_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / "layers/shared/requirements.txt").read_text().splitlines()
    listed = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(listed) == sorted(declared)


def _template_routes(template: dict[str, Any], function: str) -> set[tuple[str, str]]:
    events = template["Resources"][function]["Properties"].get("Events", {})
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in events.values()
        if event["Type"] == "Api"
    }


def _router_routes(module_name: str) -> set[tuple[str, str]]:
    import importlib

    router = importlib.import_module(module_name).router
    routes = set()
    for key in router._routes:
        rule, methods = key[0], key[1]
        path = re.sub(r"<(\w+)>", r"{\1}", rule)
        routes.update((method.upper(), path) for method in methods)
    return routes


@pytest.mark.parametrize("function", sorted(FUNCTION_ROUTERS))
def test_every_router_route_has_an_api_event(template: dict[str, Any], function: str) -> None:
    served: set[tuple[str, str]] = set()
    for module_name in FUNCTION_ROUTERS[function]:
        served |= _router_routes(module_name)
    assert served, "no routes found in the routers"
    assert _template_routes(template, function) == served


@pytest.mark.parametrize("function", sorted(OTHER_FUNCTION_ROUTES))
def test_other_functions_declare_their_routes(template: dict[str, Any], function: str) -> None:
    assert _template_routes(template, function) == OTHER_FUNCTION_ROUTES[function]


def test_every_api_function_is_checked(template: dict[str, Any]) -> None:
    functions = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    with_api = {name for name in functions if _template_routes(template, name)}
    assert with_api == set(FUNCTION_ROUTERS) | set(OTHER_FUNCTION_ROUTES)


def test_api_events_use_the_api_and_its_authorizer(template: dict[str, Any]) -> None:
    api = template["Resources"]["Api"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "PlatformAuthorizer"
    authorizer = api["Auth"]["Authorizers"]["PlatformAuthorizer"]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    for name, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "Api":
                assert event["Properties"].get("RestApiId") == {"Ref": "Api"}, name
    responses = api["GatewayResponses"]
    for response in responses.values():
        for body in response["ResponseTemplates"].values():
            assert isinstance(body, str)
    assert responses["ACCESS_DENIED"]["StatusCode"] == "401"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    # An unknown route (API Gateway's MISSING_AUTHENTICATION_TOKEN) is a 404 in the functions' shape.
    unknown_route = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown_route["StatusCode"] == "404"
    assert '"code":"route_not_found"' in unknown_route["ResponseTemplates"]["application/json"]


def test_only_sign_in_the_jwks_the_contract_and_slack_are_public(template: dict[str, Any]) -> None:
    public = set()
    for resource in template["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "Api" and event["Properties"].get("Auth", {}).get("Authorizer") == "NONE":
                public.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    # Slack's requests carry Slack's signature, which the chat-ops app checks.
    assert public == {
        ("POST", "/auth/token"),
        ("GET", "/auth/.well-known/jwks.json"),
        ("GET", "/openapi.json"),
        ("POST", "/slack/events"),
    }
    identity = template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["PlatformAuthorizer"]["Identity"]
    assert identity["ReauthorizeEvery"] == 60


def _secrets_read_by(template: dict[str, Any], role: str) -> list[Any]:
    (policy,) = [p for p in template["Resources"][role]["Properties"]["Policies"] if p["PolicyName"] == "read-secrets"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    return list(statement["Resource"])


def test_auth_functions_read_only_their_secrets(template: dict[str, Any]) -> None:
    keys_and_db = [{"Ref": "DatabaseSecretArn"}, {"Ref": "JwtKeysSecretArn"}]
    # The authorizer never gets the Slack bot token; the auth function needs it to link by e-mail.
    assert _secrets_read_by(template, "AuthorizerFunctionRole") == keys_and_db
    assert _secrets_read_by(template, "AuthFunctionRole") == [*keys_and_db, {"Ref": "SlackBotTokenSecretArn"}]
    for function, role in (("AuthFunction", "AuthFunctionRole"), ("AuthorizerFunction", "AuthorizerFunctionRole")):
        props = template["Resources"][function]["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert props["Environment"]["Variables"]["JWT_KEYS_SECRET_ID"] == {"Ref": "JwtKeysSecretArn"}
    assert "SLACK_BOT_TOKEN_SECRET_ID" not in template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"][
        "Variables"
    ]


def test_chatops_holds_no_signing_key_and_calls_the_iam_routes(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    chatops = resources["ChatOpsFunction"]["Properties"]
    assert "JWT_KEYS_SECRET_ID" not in chatops["Environment"]["Variables"]
    assert "JWT_KEYS_SECRET_ID" not in template["Globals"]["Function"]["Environment"]["Variables"]
    role = resources["ChatOpsFunctionRole"]["Properties"]
    # Slack's secrets only: no database (de-duplication goes through the auth function), no VPC.
    assert _secrets_read_by(template, "ChatOpsFunctionRole") == [
        {"Ref": "SlackSigningSecretArn"},
        {"Ref": "SlackBotTokenSecretArn"},
    ]
    assert "VpcConfig" not in chatops and "DatabaseSecretArn" not in json.dumps(role)
    assert "JwtKeysSecretArn" not in json.dumps(role)
    # Its fixed name is what the auth function admits.
    assert role["RoleName"] == {"Fn::Sub": "${AWS::StackName}-chatops"}
    auth_env = resources["AuthFunction"]["Properties"]["Environment"]["Variables"]
    assert auth_env["CHATOPS_ROLE_ARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-chatops"
    }
    assert auth_env["SLACK_BOT_TOKEN_SECRET_ID"] == {"Ref": "SlackBotTokenSecretArn"}
    (invoke,) = [p for p in role["Policies"] if p["PolicyName"] == "call-chatops-routes"]
    (statement,) = invoke["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*/*/POST/auth/slack/*"
    }
    # The only AWS_IAM routes are the auth function's Slack routes, which the gate keeps to chat-ops.
    iam_routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"]): (name, event["Properties"]["Auth"])
        for name, resource in resources.items()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "Api" and event["Properties"].get("Auth", {}).get("Authorizer") == "AWS_IAM"
    }
    assert iam_routes == {
        ("POST", "/auth/slack/token"): ("AuthFunction", {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}),
        ("POST", "/auth/slack/links"): ("AuthFunction", {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}),
        ("POST", "/auth/slack/deliveries"): ("AuthFunction", {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}),
    }
    from idp.api.gate import ROUTE_POLICIES

    assert {route for route, policy in ROUTE_POLICIES.items() if policy.iam_role == "chatops"} == set(iam_routes)


def test_chatops_may_invoke_itself_without_a_circular_reference(template: dict[str, Any]) -> None:
    function = template["Resources"]["ChatOpsFunction"]["Properties"]
    assert function["Handler"] == "app.app" and function["CodeUri"] == "chatops"
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-chatops"}
    role = template["Resources"]["ChatOpsFunctionRole"]["Properties"]
    invoke = next(p for p in role["Policies"] if p["PolicyName"] == "invoke-self")
    (statement,) = invoke["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"lambda:InvokeFunction", "lambda:GetFunction"}
    assert statement["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-chatops")


def test_argocd_functions_read_only_their_secrets(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    role = resources["DeployFunctionsRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"] == [
        {"Ref": "DatabaseSecretArn"},
        {"Ref": "ArgoCdTokenSecretArn"},
        {"Ref": "SlackBotTokenSecretArn"},
    ]
    for function in ("ArgoCdFunction", "DeployPollerFunction"):
        props = resources[function]["Properties"]
        assert props["CodeUri"] == "functions/argocd"
        assert props["Role"] == {"Fn::GetAtt": ["DeployFunctionsRole", "Arn"]}
        assert props["VpcConfig"] == resources["TenantFunction"]["Properties"]["VpcConfig"]
        env = props["Environment"]["Variables"]
        assert env["ARGOCD_URL"] == {"Ref": "ArgoCdUrl"}
        assert env["ARGOCD_TOKEN_SECRET_ID"] == {"Ref": "ArgoCdTokenSecretArn"}
        assert env["SLACK_BOT_TOKEN_SECRET_ID"] == {"Ref": "SlackBotTokenSecretArn"}
    # Tenant changes keep each tenant's AppProject in step: the tenant function talks to Argo CD too.
    tenant_env = resources["TenantFunction"]["Properties"]["Environment"]["Variables"]
    assert tenant_env == {"ARGOCD_URL": {"Ref": "ArgoCdUrl"}, "ARGOCD_TOKEN_SECRET_ID": {"Ref": "ArgoCdTokenSecretArn"}}
    (tenant_policy,) = resources["TenantFunctionRole"]["Properties"]["Policies"]
    (tenant_statement,) = tenant_policy["PolicyDocument"]["Statement"]
    assert tenant_statement["Resource"] == [{"Ref": "DatabaseSecretArn"}, {"Ref": "ArgoCdTokenSecretArn"}]


def test_deploy_poller_runs_every_minute_within_its_timeout(template: dict[str, Any]) -> None:
    props = template["Resources"]["DeployPollerFunction"]["Properties"]
    assert props["Handler"] == "poller.lambda_handler"
    assert (ROOT / "functions/argocd/poller.py").is_file()
    (event,) = props["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(1 minute)"
    # One run polls for its budget, then returns well inside its own timeout.
    budget = float(props["Environment"]["Variables"]["DEPLOY_POLL_BUDGET_SECONDS"])
    assert budget + 10 <= props["Timeout"] <= 900


# -- running in production: timeouts, logs, alarms, dead letters, admins, connections ----------

# The values CloudWatch Logs allows for RetentionInDays.
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]
LOG_RETENTION_DAYS += [1096, 1827, 2192, 2557, 2922, 3288, 3653]
# PostgreSQL's default max_connections, and what stays free for superuser-reserved slots, RDS's own
# sessions, migrations and operators (the budget in template.yaml's Globals and the README).
MAX_CONNECTIONS, CONNECTION_HEADROOM = 100, 20


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = template["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def _of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == type_}


def _alarm(template: dict[str, Any], namespace: str, metric: str, dimensions: list[Any]) -> dict[str, Any]:
    (alarm,) = [
        a
        for a in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if (a["Namespace"], a["MetricName"], a["Dimensions"]) == (namespace, metric, dimensions)
    ]
    return alarm


def test_every_function_logs_to_its_own_group_with_a_retention(template: dict[str, Any]) -> None:
    assert template["Parameters"]["LogRetentionDays"]["AllowedValues"] == LOG_RETENTION_DAYS
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == len(_functions(template))
    for name, props in _functions(template).items():
        # A fixed name, so the group Lambda writes to (/aws/lambda/<name>) can be declared.
        function_name = props["FunctionName"]["Fn::Sub"]
        assert function_name.startswith("${AWS::StackName}-"), name
        group = template["Resources"][name]["DependsOn"]
        assert groups[group] == {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/{function_name}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        }


def test_alarms_watch_every_function_the_api_the_poller_and_the_queues(template: dict[str, Any]) -> None:
    for name in _functions(template):
        for metric in ("Errors", "Throttles"):
            alarm = _alarm(template, "AWS/Lambda", metric, [{"Name": "FunctionName", "Value": {"Ref": name}}])
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    api = template["Resources"]["Api"]["Properties"]
    stage = [{"Name": "ApiName", "Value": api["Name"]}, {"Name": "Stage", "Value": api["StageName"]}]
    assert _alarm(template, "AWS/ApiGateway", "5XXError", stage)["Statistic"] == "Sum"
    # The poller's own metric, as Powertools writes it: the namespace the functions are given,
    # and the service dimension Powertools adds (tests/functions/argocd/test_poller.py runs it).
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    service = [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    _alarm(template, env["POWERTOOLS_METRICS_NAMESPACE"], "DeployPollerErrors", service)
    assert '"DeployPollerErrors"' in (ROOT / "functions/argocd/poller.py").read_text()
    # Parked Slack messages (a level the poller reports each run): one is enough to tell someone.
    parked = _alarm(template, env["POWERTOOLS_METRICS_NAMESPACE"], "DeploymentNotificationsParked", service)
    assert (parked["Statistic"], parked["Threshold"], parked["ComparisonOperator"]) == (
        "Maximum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert '"DeploymentNotificationsParked"' in (ROOT / "functions/argocd/poller.py").read_text()
    for queue in _of_type(template, "AWS::SQS::Queue"):
        dimensions = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        _alarm(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions)
    # Every alarm tells the topic, when there is one, as it fires and as it clears.
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for name, alarm in _of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == notify, name
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_asynchronous_invocations_and_schedules_end_in_a_queue(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    # Chat-ops' lazy listeners: the function invoking itself asynchronously.
    chatops = resources["ChatOpsFunction"]["Properties"]["EventInvokeConfig"]
    assert chatops["MaximumRetryAttempts"] <= 2
    on_failure = chatops["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["ChatOpsFailedInvocationsQueue", "Arn"]}}
    role = resources["ChatOpsFunctionRole"]["Properties"]
    (send,) = [p for p in role["Policies"] if p["PolicyName"] == "send-failed-invocations"]
    assert send["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": on_failure["Destination"]}
    ]
    # Every schedule: retried by EventBridge, then dead-lettered to a queue EventBridge may write to.
    schedules = 0
    for name, props in _functions(template).items():
        for event in props.get("Events", {}).values():
            if event["Type"] != "Schedule":
                continue
            schedules += 1
            rule = event["Properties"]
            assert rule["RetryPolicy"]["MaximumRetryAttempts"] >= 1, name
            queue = rule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            assert resources[queue]["Type"] == "AWS::SQS::Queue"
            (policy,) = [
                p for p in _of_type(template, "AWS::SQS::QueuePolicy").values() if p["Queues"] == [{"Ref": queue}]
            ]
            (statement,) = policy["PolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert statement["Action"] == "sqs:SendMessage"
            source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
            assert source.endswith(":rule/" + rule["Name"]["Fn::Sub"])
            # A failed run is not retried by Lambda: the next scheduled run is its retry.
            assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert schedules == 1


def test_platform_admins_reach_the_functions_that_decide_the_claim(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from idp.config import Settings

    parameter = template["Parameters"]["PlatformAdmins"]
    assert parameter["Type"] == "String" and "Default" not in parameter  # every stack decides
    pattern = re.compile(parameter["AllowedPattern"])
    for value, admins in (
        ("[]", []),
        ('["a@example.com"]', ["a@example.com"]),
        ('[ "a@x.io", "b@y.io" ]', ["a@x.io", "b@y.io"]),
    ):
        assert pattern.fullmatch(value), value
        monkeypatch.setenv("PLATFORM_ADMINS", value)  # what the function reads: a JSON list
        assert Settings().platform_admins == admins
    for value in ("a@example.com", '["a@example.com",]', "[a@example.com]", '[""]'):
        assert not pattern.fullmatch(value), value
    # The authorizer puts platform_admin into every request's context, the auth function into the
    # tokens it signs; the other functions read the claim, never the list.
    given = {
        name for name, props in _functions(template).items() if "PLATFORM_ADMINS" in props["Environment"]["Variables"]
    }
    assert given == {"AuthorizerFunction", "AuthFunction"}
    for name in given:
        assert template["Resources"][name]["Properties"]["Environment"]["Variables"]["PLATFORM_ADMINS"] == {
            "Ref": "PlatformAdmins"
        }


def test_database_connections_fit_the_budget(template: dict[str, Any]) -> None:
    # A function whose role reads the database secret holds one connection per container.
    with_database = {
        name
        for name, props in _functions(template).items()
        if {"Ref": "DatabaseSecretArn"} in _secrets_read_by(template, props["Role"]["Fn::GetAtt"][0])
    }
    assert with_database >= {"AuthorizerFunction", "AuthFunction", "TenantFunction", "DeployPollerFunction"}
    functions = _functions(template)
    reserved: dict[str, int] = {name: functions[name]["ReservedConcurrentExecutions"] for name in with_database}
    assert all(isinstance(n, int) and n >= 1 for n in reserved.values()), reserved
    assert sum(reserved.values()) <= MAX_CONNECTIONS - CONNECTION_HEADROOM
    # The budget written in the template's comments is the one it declares.
    text = TEMPLATE.read_text()
    start = text.index("# Database connections.")
    budget = text[start : text.index("Environment:", start)]
    assert {name: int(n) for name, n in re.findall(r"(\w+Function) (\d+)", budget)} == reserved
    assert f"= {sum(reserved.values())} <= {MAX_CONNECTIONS} - {CONNECTION_HEADROOM}" in budget


def test_throttling_is_described_per_method(template: dict[str, Any]) -> None:
    # API Gateway applies the "/*" "*" MethodSettings to each method separately.
    settings = template["Resources"]["Api"]["Properties"]["MethodSettings"]
    assert settings == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        }
    ]
    for name in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        description = template["Parameters"][name]["Description"]
        assert "each method" in description and "stage" not in description, name
