"""Secrets Manager writes, for the operator commands that create and rotate secrets.

Reads go through `idp.config.read_secret` (Powertools' cached provider). Here a boto3
Secrets Manager client is passed in (`make dev` and the tests pass one for moto), and its
errors become `DownstreamError` with the caller's `code`, so nothing above this module
handles botocore's exceptions.
"""

from __future__ import annotations

from typing import Any

from idp.errors import DownstreamError

__all__ = ["create_if_missing", "get_string", "put_string"]


def create_if_missing(client: Any, secret_id: str, value: str, *, description: str, code: str) -> bool:
    """Creates the secret with `value` unless it exists; True when it did so (a concurrent create counts as not)."""
    from botocore.exceptions import ClientError

    try:
        client.describe_secret(SecretId=secret_id)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    except ClientError as exc:
        raise DownstreamError("Secrets Manager is unavailable", code=code) from exc
    try:
        client.create_secret(Name=secret_id, Description=description, SecretString=value)
    except client.exceptions.ResourceExistsException:
        return False
    except ClientError as exc:
        raise DownstreamError(f"could not create the secret {secret_id}", code=code) from exc
    return True


def get_string(client: Any, secret_id: str, *, code: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
    except ClientError as exc:
        raise DownstreamError(f"could not read the secret {secret_id}", code=code) from exc


def put_string(client: Any, secret_id: str, value: str, *, code: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.put_secret_value(SecretId=secret_id, SecretString=value)
    except ClientError as exc:
        raise DownstreamError(f"could not store the secret {secret_id}", code=code) from exc
