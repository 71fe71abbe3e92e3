"""Cold start: the authorizer's first request, in a fresh interpreter, loads no boto3 (nor pydantic,
Powertools or requests) when the function has the AWS Parameters and Secrets extension: the keys
come from the extension's endpoint (emulated here, moto behind it, as `make dev` runs it).

No timings here: bench/cold_start.py measures; this checks what is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from idp.auth.keys import KeySet
from idp.auth.tokens import issue_token
from idp.config import Settings
from idp_local.emulators.secrets_extension import SecretsExtensionEmulator

ROOT = Path(__file__).resolve().parents[3]
# Never on the authorizer's path for a platform JWT. Each must be installed, or its absence proves nothing.
HEAVY = ("boto3", "botocore", "pydantic", "pydantic_core", "aws_lambda_powertools", "requests", "yaml", "pg8000")

PROBE = """
import json, sys
job = json.loads(sys.stdin.read())
sys.path.insert(0, job["code_dir"])  # Lambda's task root
import authorizer
result = authorizer.lambda_handler(job["event"], None)
print(json.dumps({"result": result, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def _first_request(event: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps({"code_dir": str(ROOT / "functions" / "auth"), "event": event}),
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ).stdout
    return dict(json.loads(out.splitlines()[-1]))


def _event(token: str) -> dict[str, Any]:
    arn = "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/tenants/payments"
    return {"type": "REQUEST", "methodArn": arn, "headers": {"Authorization": f"Bearer {token}"}}


def test_the_authorizers_first_request_reads_the_keys_through_the_extension_without_boto3(
    aws_endpoint: str, signing_keys: str, secrets_extension: SecretsExtensionEmulator
) -> None:
    import importlib.util

    import boto3

    for name in HEAVY:
        assert importlib.util.find_spec(name) is not None, f"{name} is not installed: the check would be vacuous"
    client = boto3.client(
        "secretsmanager",
        endpoint_url=aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keyset = KeySet.model_validate_json(client.get_secret_value(SecretId=signing_keys)["SecretString"])
    token = issue_token(Settings(), subject="alice@example.com", email="alice@example.com", keyset=keyset)
    reads = len(secrets_extension.reads)

    probe = _first_request(
        _event(token),
        {
            "JWT_KEYS_SECRET_ID": signing_keys,
            "PLATFORM_ADMINS": '["alice@example.com"]',
            "AWS_SESSION_TOKEN": secrets_extension.token,  # Lambda sets it; the extension asks for it
            **secrets_extension.environment(),  # PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, its cache off
        },
    )

    result = probe["result"]
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow", result
    assert result["context"]["user_id"] == "alice@example.com" and result["context"]["platform_admin"] == "true"
    assert secrets_extension.reads[reads:] == [signing_keys]  # the keys came through the extension
    loaded = set(probe["modules"])
    assert "jwt" in loaded and "cryptography" in loaded
    for heavy in HEAVY:
        assert heavy not in loaded, f"the authorizer's first request loaded {heavy}"


@pytest.mark.parametrize(("header", "code"), [(None, "unauthenticated"), ("Bearer not.a.jwt", "token_invalid")])
def test_a_refused_first_request_loads_no_boto3_either(
    signing_keys: str, secrets_extension: SecretsExtensionEmulator, header: str | None, code: str
) -> None:
    event = _event("x")
    event["headers"] = {"Authorization": header} if header else {}
    probe = _first_request(
        event,
        {
            "JWT_KEYS_SECRET_ID": signing_keys,
            "AWS_SESSION_TOKEN": secrets_extension.token,
            **secrets_extension.environment(),
        },
    )
    assert probe["result"]["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert probe["result"]["context"]["error_code"] == code
    assert not {"boto3", "botocore", "pydantic"} & set(probe["modules"])
