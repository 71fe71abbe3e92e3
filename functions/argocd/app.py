"""The argocd function: applications in Argo CD, deployments with approvals, and rollbacks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from idp.api import build_resolver
from idp.api.deploy import router as deploy_router
from idp.observability import api_handler

app = build_resolver(
    [deploy_router],
    title="IDP deployments",
    description="Applications in Argo CD, deployments with approvals, rollbacks, and the approval policy",
)


@api_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
