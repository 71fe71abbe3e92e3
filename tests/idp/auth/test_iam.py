"""Which IAM caller a SigV4-signed request came from: a session of the chat-ops role, or not."""

from __future__ import annotations

import pytest

from idp.api.iam import iam_user_arn, is_session_of_role

ROLE = "arn:aws:iam::123456789012:role/prod-chatops"
SESSION = "arn:aws:sts::123456789012:assumed-role/prod-chatops/prod-chatops"


def test_a_session_of_the_role_matches_even_when_the_role_has_a_path() -> None:
    assert is_session_of_role(SESSION, ROLE)
    assert is_session_of_role(SESSION, "arn:aws:iam::123456789012:role/service/prod-chatops")
    assert is_session_of_role(
        "arn:aws-cn:sts::123456789012:assumed-role/prod-chatops/s", "arn:aws-cn:iam::123456789012:role/prod-chatops"
    )


@pytest.mark.parametrize(
    ("user_arn", "role_arn"),
    [
        (None, ROLE),  # no IAM caller: a platform token, or nobody
        (SESSION, None),  # CHATOPS_ROLE_ARN unset: nobody
        ("arn:aws:sts::999999999999:assumed-role/prod-chatops/x", ROLE),  # another account's role of that name
        ("arn:aws:sts::123456789012:assumed-role/prod-chatops-2/x", ROLE),
        ("arn:aws:sts::123456789012:assumed-role/prod-tenant/prod-chatops", ROLE),  # the session name is no role
        ("arn:aws:iam::123456789012:role/prod-chatops", ROLE),  # the role itself never signs
        ("arn:aws:iam::123456789012:user/prod-chatops", ROLE),
        ("arn:aws-cn:sts::123456789012:assumed-role/prod-chatops/x", ROLE),
        ("arn:aws:sts::123456789012:assumed-role/prod-chatops", ROLE),
        ("arn:aws:sts::123456789012:assumed-role/prod-chatops/x/y", ROLE),
        ("not an arn", ROLE),
        (SESSION, "arn:aws:iam::123456789012:user/prod-chatops"),
    ],
)
def test_anything_else_does_not(user_arn: str | None, role_arn: str | None) -> None:
    assert not is_session_of_role(user_arn, role_arn)


def test_the_iam_caller_is_read_from_the_proxy_event() -> None:
    assert iam_user_arn({"requestContext": {"identity": {"userArn": SESSION}}}) == SESSION
    assert iam_user_arn({"requestContext": {"identity": {"userArn": None}}}) is None
    assert iam_user_arn({}) is None
