"""Callers that API Gateway authenticated with AWS IAM (SigV4, `Authorizer: AWS_IAM`).

For such a route API Gateway verifies the signature itself and passes who signed in the
proxy event's `requestContext.identity.userArn`. A Lambda function signs with its role's
temporary credentials, so its `userArn` is a session of that role:
`arn:aws:sts::<account>:assumed-role/<role name>/<session name>`, while the role itself is
`arn:aws:iam::<account>:role/<optional path/><role name>` (the path is not in the session ARN).
"""

from __future__ import annotations

from typing import Any

__all__ = ["iam_user_arn", "is_session_of_role"]


def iam_user_arn(event: dict[str, Any]) -> str | None:
    """The IAM principal API Gateway authenticated for this request; None when it checked none."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    arn = identity.get("userArn")
    return str(arn) if arn else None


def _role(role_arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of `arn:<partition>:iam::<account>:role/[path/]<name>`."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3] != "":
        return None
    kind, _, path = parts[5].partition("/")
    name = path.rsplit("/", 1)[-1]
    return (parts[1], parts[4], name) if kind == "role" and name and parts[4] else None


def _session(user_arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`."""
    parts = user_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sts" or parts[3] != "":
        return None
    segments = parts[5].split("/")
    if len(segments) != 3 or segments[0] != "assumed-role" or not segments[1] or not segments[2]:
        return None
    return (parts[1], parts[4], segments[1]) if parts[4] else None


def is_session_of_role(user_arn: str | None, role_arn: str | None) -> bool:
    """True when `user_arn` is a session of the IAM role `role_arn` (same partition, account and name)."""
    if not user_arn or not role_arn:
        return False
    role, session = _role(role_arn), _session(user_arn)
    return role is not None and role == session
