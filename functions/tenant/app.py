"""The tenant function: tenants, members, and their Kubernetes namespaces."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from idp.api import build_resolver
from idp.api.audit import router as audit_router
from idp.api.tenants import router as tenants_router
from idp.observability import api_handler

app = build_resolver(
    [tenants_router, audit_router],
    title="IDP tenants",
    description="Tenants, members, namespaces per environment, and the audit log",
)


@api_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
