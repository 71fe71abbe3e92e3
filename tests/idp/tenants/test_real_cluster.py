"""The tenant objects against a real cluster, when one is given.

Set IDP_TEST_KUBECONFIG (and optionally IDP_TEST_KUBE_CONTEXT) to run this; it creates
and then deletes the namespaces of a throwaway tenant `idp-e2e-<random>`. Without a
cluster there is nothing to talk to, so it is skipped.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest

from idp.clients.kubernetes import KINDS, KubeClient, _api_client
from idp.config import Settings
from idp.schemas.tenants import MemberRead, Quota
from idp.tenants.manifests import environment_objects

pytestmark = [
    pytest.mark.real_cluster,
    pytest.mark.skipif(not os.environ.get("IDP_TEST_KUBECONFIG"), reason="IDP_TEST_KUBECONFIG not set"),
]


def test_tenant_objects_apply_idempotently_on_a_real_cluster() -> None:
    settings = Settings(
        kubeconfig=os.environ["IDP_TEST_KUBECONFIG"], kube_context=os.environ.get("IDP_TEST_KUBE_CONTEXT")
    )
    client = KubeClient(_api_client(settings))
    tenant = f"idp-e2e-{uuid.uuid4().hex[:6]}"
    member = MemberRead(user="e2e@example.com", role="developer", added_by="e2e", added_at=datetime.now(UTC))
    quota = Quota(cpu="500m", memory="512Mi", pods=2, storage="1Gi")
    objects = environment_objects(tenant, "dev", quota, [member], tenant_id=str(uuid.uuid4()))
    try:
        assert [client.apply(o) for o in objects] == ["created"] * len(objects)
        assert [client.apply(o) for o in objects] == ["unchanged"] * len(objects)
    finally:
        client.delete(KINDS["Namespace"], f"{tenant}-dev")
