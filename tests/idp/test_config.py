import uuid
from pathlib import Path

import pytest

from idp.config import Settings, reset_settings


def test_environment_overrides_the_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "idp.yaml"
    config.write_text("log_level: DEBUG\njwt_issuer: from-file\nplatform_admins: [root@example.com]\n")
    monkeypatch.setenv("IDP_CONFIG_FILE", str(config))
    monkeypatch.setenv("JWT_ISSUER", "from-env")
    settings = Settings()
    assert settings.log_level == "DEBUG"
    assert settings.jwt_issuer == "from-env"
    assert settings.platform_admins == ["root@example.com"]


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db/idp")
    monkeypatch.setenv("JWT_SECRET", "s3cr3t-value")
    text = repr(Settings()) + str(Settings().model_dump())
    assert "hunter2" not in text and "s3cr3t-value" not in text


def test_database_url_from_secrets_manager(monkeypatch: pytest.MonkeyPatch, aws_endpoint: str) -> None:
    # The session's moto server, not mock_aws(): leaving mock_aws resets every moto backend of the
    # process, the server's too (it runs in-process), and took the test signing keys with it.
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reset_settings()  # a fresh Secrets Manager client, for this endpoint
    name = f"idp/db-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString="postgresql://u:p@h/db")
    settings = Settings(database_secret_id=name)
    assert settings.resolved_database_url() == "postgresql://u:p@h/db"
    reset_settings()
