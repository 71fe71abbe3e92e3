from idp.schemas.tenants import MemberRead, Quota
from idp.tenants.manifests import environment_objects, member_binding_name


def test_objects_for_an_environment_namespace_first() -> None:
    from datetime import UTC, datetime

    member = MemberRead(user="dev@example.com", role="developer", added_by="x", added_at=datetime.now(UTC))
    objects = environment_objects("shop", "prod", Quota(), [member], tenant_id="7d3adaad-900d-4a29-b30b-6f99e4f1317e")
    assert [o["kind"] for o in objects] == ["Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "RoleBinding"]
    assert all(o["metadata"].get("namespace", "shop-prod") == "shop-prod" for o in objects)
    binding = objects[-1]
    assert binding["roleRef"]["name"] == "edit"
    assert binding["metadata"]["name"] == member_binding_name("dev@example.com")
    assert len(binding["metadata"]["name"]) <= 63 and "@" not in binding["metadata"]["name"]
