"""API Gateway's `AWS_IAM` check, locally: a SigV4 signature verified with botocore against the
credentials the local gateway knows.

API Gateway recomputes the signature of an `Authorization: AWS4-HMAC-SHA256 Credential=...,
SignedHeaders=..., Signature=...` request from the caller's secret key and answers 403 itself
when it fails: no signature (`MISSING_AUTHENTICATION_TOKEN`), a header that is not SigV4
(`IncompleteSignatureException`), an unknown access key or session token
(`UnrecognizedClientException`), a wrong signature, scope or a timestamp more than 5 minutes
off (`INVALID_SIGNATURE`). On success the function sees who signed in
`requestContext.identity` (`userArn`, `caller`, `accessKey`, `accountId`).

Locally each access key id stands for one principal (`IamCredential`); IAM policies are not
evaluated (every known principal may invoke), so the function's own check decides who may call.
Only header signatures are verified (not presigned query strings).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from werkzeug.wrappers import Request

from idp_local.gateway_events import raw_path
from idp_local.gateway_responses import GatewayError

__all__ = ["MAX_SKEW_SECONDS", "IamCredential", "process_credentials_as", "role_session_arn", "verify_sigv4"]

MAX_SKEW_SECONDS = 300
SERVICE = "execute-api"
_ALGORITHM = "AWS4-HMAC-SHA256"
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret"
    " Access Key and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
_PARAM = re.compile(r"\s*([A-Za-z]+)=([^,\s]*)\s*")


@dataclass(frozen=True)
class IamCredential:
    """An access key's secret and the principal it authenticates as (what `userArn` says)."""

    secret_key: str
    principal_arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>, or an IAM user's ARN
    session_token: str | None = None  # when set, the request must carry it (X-Amz-Security-Token)

    def __repr__(self) -> str:
        return f"IamCredential(principal_arn={self.principal_arn!r})"


def role_session_arn(role_arn: str, session: str) -> str:
    """The ARN STS gives a session of the role `arn:<p>:iam::<account>:role/[path/]<name>`."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ValueError(f"not an IAM role ARN: {role_arn}")
    name = parts[5].rsplit("/", 1)[-1]
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{session}"


def process_credentials_as(role_arn: str, session: str) -> dict[str, IamCredential]:
    """This process's AWS credentials (botocore's default chain: what the functions running in it
    sign with) standing for a session of `role_arn`; empty when the chain has none."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        return {}
    frozen = found.get_frozen_credentials()
    principal = role_session_arn(role_arn, session)
    return {frozen.access_key: IamCredential(frozen.secret_key, principal, frozen.token or None)}


def _incomplete(header: str) -> GatewayError:
    digest = base64.b64encode(hashlib.sha256(header.encode()).digest()).decode()
    message = (
        "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded"
        f" with Base64): '{digest}'."
    )
    return GatewayError("INVALID_SIGNATURE", 403, message, error_type="IncompleteSignatureException")


def _invalid(message: str) -> GatewayError:
    return GatewayError("INVALID_SIGNATURE", 403, message)


def _parameters(header: str) -> dict[str, str]:
    """Credential, SignedHeaders and Signature of a SigV4 Authorization header."""
    if not header.startswith(_ALGORITHM + " "):
        raise _incomplete(header)
    params: dict[str, str] = {}
    for pair in header[len(_ALGORITHM) + 1 :].split(","):
        match = _PARAM.fullmatch(pair)
        if match is None:
            raise _incomplete(header)
        params[match.group(1)] = match.group(2)
    required = ("Credential", "Signature", "SignedHeaders")
    missing = [f"Authorization header requires '{p}' parameter." for p in required if not params.get(p)]
    if missing:
        raise GatewayError("INVALID_SIGNATURE", 403, " ".join(missing), error_type="IncompleteSignatureException")
    return params


def _timestamp(request: Request) -> str:
    amz_date = request.headers.get("X-Amz-Date")
    if amz_date:
        try:
            time.strptime(amz_date, _TIMESTAMP)
        except ValueError:
            raise _invalid(f"Invalid X-Amz-Date: {amz_date}") from None
        return amz_date
    date = request.headers.get("Date")
    if date:
        try:
            return parsedate_to_datetime(date).strftime(_TIMESTAMP)
        except (TypeError, ValueError):
            raise _invalid(f"Invalid Date header: {date}") from None
    message = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    raise GatewayError("INVALID_SIGNATURE", 403, message, error_type="IncompleteSignatureException")


def _stamp(epoch: float) -> str:
    return time.strftime(_TIMESTAMP, time.gmtime(epoch))


def _check_skew(stamp: str, now: float) -> None:
    signed = calendar.timegm(time.strptime(stamp, _TIMESTAMP))
    earliest, latest = now - MAX_SKEW_SECONDS, now + MAX_SKEW_SECONDS
    if signed < earliest:
        raise _invalid(f"Signature expired: {stamp} is now earlier than {_stamp(earliest)} ({_stamp(now)} - 5 min.)")
    if signed > latest:
        raise _invalid(
            f"Signature not yet current: {stamp} is still later than {_stamp(latest)} ({_stamp(now)} + 5 min.)"
        )


def _check_scope(scope: list[str], stamp: str, region: str) -> None:
    date, scope_region, service, terminator = scope
    if date != stamp[:8]:
        raise _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP:"
            f" '{date}' != '{stamp[:8]}', from '{stamp}'."
        )
    if scope_region != region:
        raise _invalid("Credential should be scoped to a valid region. ")
    if service != SERVICE:
        raise _invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if terminator != "aws4_request":
        raise _invalid(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")


def _signature(
    request: Request, credential: IamCredential, access_key: str, stamp: str, signed: list[str], region: str
) -> str:
    """The signature botocore computes for this request, over exactly the headers the caller signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials

    class Verifier(SigV4Auth):
        def headers_to_sign(self, aws_request: Any) -> HTTPHeaders:
            headers = HTTPHeaders()
            for name in signed:
                for value in request.headers.getlist(name) or [""]:
                    headers[name] = value
            return headers

    query = str(request.environ.get("QUERY_STRING") or "")
    url = f"{request.scheme}://{request.host}{raw_path(request)}" + (f"?{query}" if query else "")
    headers = {name: request.headers.get(name, "") for name in signed}
    aws_request = AWSRequest(method=request.method, url=url, data=request.get_data(cache=True), headers=headers)
    aws_request.context["timestamp"] = stamp
    verifier = Verifier(Credentials(access_key, credential.secret_key, credential.session_token), SERVICE, region)
    string_to_sign = verifier.string_to_sign(aws_request, verifier.canonical_request(aws_request))
    return str(verifier.signature(string_to_sign, aws_request))


def _identity(access_key: str, principal_arn: str) -> dict[str, Any]:
    """`requestContext.identity` as API Gateway fills it for an IAM-authenticated caller."""
    parts = principal_arn.split(":", 5)
    account, resource = (parts[4], parts[5]) if len(parts) == 6 else (None, principal_arn)
    segments = resource.split("/")
    unique = hashlib.sha1(principal_arn.encode()).hexdigest()[:17].upper()  # a stable stand-in for IAM's id
    session = segments[0] == "assumed-role" and len(segments) >= 3
    caller = f"AROA{unique}:{segments[-1]}" if session else f"AIDA{unique}"  # a role's session, or a user
    return {"accessKey": access_key, "accountId": account, "caller": caller, "user": caller, "userArn": principal_arn}


def verify_sigv4(
    request: Request, credentials: Mapping[str, IamCredential], *, region: str, now: float | None = None
) -> dict[str, Any]:
    """The `requestContext.identity` fields of a correctly signed request; GatewayError (403) otherwise."""
    header = request.headers.get("Authorization")
    if not header:
        # The response type of an unknown route too: template.yaml's gateway response makes both a 404.
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
    params = _parameters(header)
    access_key, _, rest = params["Credential"].partition("/")
    scope = rest.split("/")
    if len(scope) != 4:
        raise _invalid(f"Credential should be scoped to a valid region, not '{rest}'. ")
    credential = credentials.get(access_key)
    token = request.headers.get("X-Amz-Security-Token")
    if credential is None or (credential.session_token is not None and token != credential.session_token):
        raise GatewayError("UNRECOGNIZED_CLIENT", 403, _INVALID_TOKEN, error_type="UnrecognizedClientException")
    stamp = _timestamp(request)
    _check_scope(scope, stamp, region)
    _check_skew(stamp, time.time() if now is None else now)
    signed = [h.strip().lower() for h in params["SignedHeaders"].split(";") if h.strip()]
    if "host" not in signed:
        raise _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    expected = _signature(request, credential, access_key, stamp, signed, region)
    if not hmac.compare_digest(expected, params["Signature"]):
        raise _invalid(_MISMATCH)
    return _identity(access_key, credential.principal_arn)
