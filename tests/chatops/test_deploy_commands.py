"""Deployments from Slack end to end: `/idp deploy|status|history|rollback` and the Approve / Reject
buttons, through the local gateway into the chat-ops function and the platform API, with the
deploy poller running as in production, Argo CD and Slack emulated over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from idp.db import Database
from idp_local.emulators.argocd import ArgoCdEmulator
from idp_local.emulators.slack import SlackEmulator, render_text

from .conftest import sign_in

ALICE, BOB, CAROL, DAVE = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"
REPO = "https://github.com/acme/web"
APPROVALS = "C0APPROVALS"
TENANT = "payments"
WAIT = 15.0


@pytest.fixture
def poller(slack: SlackEmulator, deploy_poller: Any) -> Any:
    """The deploy poller, started after the Slack settings are in place (it builds its notifier then)."""
    return deploy_poller


@pytest.fixture
def platform(api: Any, oidc_issuer: Any, slack: SlackEmulator, poller: Any) -> Any:
    """Tenant `payments` (dev, prod; repo acme/web) with owners alice and bob, prod approvals asked in
    C0APPROVALS, and the app `web`; alice and bob are signed in and linked (U0ALICE, U0BOB)."""
    for user in (ALICE, BOB):
        sign_in(api, oidc_issuer, user)
    _ok(api.call("POST", "/tenants", user=ALICE, json=_tenant(TENANT)), 201)
    _ok(api.call("POST", f"/tenants/{TENANT}/members", user=ALICE, json={"user": BOB, "role": "owner"}), 201)
    policy = {"approval_environments": ["prod"], "approval_channel": APPROVALS, "approval_ttl_seconds": 3600}
    _ok(api.call("PUT", f"/tenants/{TENANT}/deploy-policy", user=ALICE, json=policy), 200)
    app = {"name": "web", "repo_url": REPO, "path": "deploy", "environments": ["dev", "prod"]}
    _ok(api.call("POST", f"/tenants/{TENANT}/apps", user=ALICE, json=app), 201)
    return api


def _tenant(name: str) -> dict[str, Any]:
    return {"name": name, "display_name": name.title(), "environments": ["dev", "prod"], "repositories": [REPO]}


def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _wait(slack: SlackEmulator, predicate: Callable[[], Any], what: str) -> None:
    assert slack.wait_for(predicate, timeout=WAIT), f"timed out waiting for {what}"


def _command(slack: SlackEmulator, app_url: str, text: str, **options: Any) -> str:
    """Sends `/idp <text>` and returns the one reply it gets on its response_url, as read."""
    response = slack.send_command(app_url, text, **options)
    assert response.status_code == 200, response.text
    url = slack.sent()[-1]["response_url"]
    _wait(slack, lambda: slack.responses(url), f"the reply to /idp {text}")
    (posted,) = slack.responses(url)
    assert posted.get("response_type") == "ephemeral" and not posted.get("replace_original")
    return render_text(posted)


def _main_message(slack: SlackEmulator, channel: str) -> dict[str, Any]:
    _wait(slack, lambda: [m for m in slack.messages() if m["channel"] == channel], f"a message in {channel}")
    (main,) = [m for m in slack.messages() if m["channel"] == channel and not m.get("thread_ts")]
    return main


def _current(slack: SlackEmulator, ts: str) -> dict[str, Any]:
    return next(m for m in slack.messages() if m["ts"] == ts and not m.get("thread_ts"))


def _thread(slack: SlackEmulator, ts: str) -> list[str]:
    return [render_text(m).replace("*", "") for m in slack.messages() if m.get("thread_ts") == ts]


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id"), "action_ts": f"{time.time():.6f}"}
    raise AssertionError(f"no {action_id} button in {render_text(message)}")


def _click(slack: SlackEmulator, app_url: str, message: dict[str, Any], action_id: str, user_id: str) -> str:
    """Clicks a button of `message` as `user_id`; the response_url the app may answer on."""
    payload = {
        "type": "block_actions",
        "actions": [_button(message, action_id)],
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
        "channel": {"id": message["channel"], "name": message["channel"].lower()},
        "message": message,
    }
    response = slack.send_interaction(app_url, payload, user_id=user_id, channel_id=message["channel"])
    assert response.status_code == 200, response.text
    return str(slack.sent()[-1]["response_url"])


def _answer(slack: SlackEmulator, url: str) -> str:
    _wait(slack, lambda: slack.responses(url), "the answer to the click")
    (posted,) = slack.responses(url)
    assert posted.get("response_type") == "ephemeral" and posted.get("replace_original") is False
    return render_text(posted)


def _deployments(api: Any, env: str | None = None) -> list[dict[str, Any]]:
    query = f"?environment={env}" if env else ""
    return list(_ok(api.call("GET", f"/tenants/{TENANT}/apps/web/deployments{query}", user=ALICE), 200))


def _deployment(api: Any, deployment_id: str) -> dict[str, Any]:
    return dict(_ok(api.call("GET", f"/deployments/{deployment_id}", user=ALICE), 200))


def _wait_state(slack: SlackEmulator, api: Any, deployment_id: str, state: str) -> dict[str, Any]:
    _wait(slack, lambda: _deployment(api, deployment_id)["state"] == state, f"deployment {state}")
    return _deployment(api, deployment_id)


def _synced_revision(argocd: ArgoCdEmulator, name: str) -> str | None:
    app = argocd.app(name) or {}
    return ((app.get("status") or {}).get("sync") or {}).get("revision")


def test_deploy_to_prod_approved_by_another_owner_end_to_end(
    platform: Any, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str
) -> None:
    reply = _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE", channel_id="C0GENERAL")
    assert "waiting for approval in #C0APPROVALS" in reply, reply

    main = _main_message(slack, APPROVALS)
    text = render_text(main)
    assert "alice@example.com asks to deploy `payments/web` revision `abc123` to prod" in text.replace("*", "")
    assert "[Approve] [Reject]" in text
    (deployment,) = _deployments(platform)
    assert deployment["state"] == "pending_approval" and deployment["slack_channel"] == APPROVALS
    assert {b["value"] for b in (_button(main, "deploy_approve"), _button(main, "deploy_reject"))} == {deployment["id"]}
    assert _synced_revision(argocd, "payments-web-prod") != "abc123"

    answer = _answer(slack, _click(slack, app_url, main, "deploy_approve", "U0BOB"))
    assert "You approved" in answer

    done = _wait_state(slack, platform, deployment["id"], "succeeded")
    assert done["decided_by"] == BOB and done["deployed_revision"] == "abc123"
    assert _synced_revision(argocd, "payments-web-prod") == "abc123"

    _wait(slack, lambda: any("Deployed" in r for r in _thread(slack, main["ts"])), "the outcome in the thread")
    replies = _thread(slack, main["ts"])
    assert "started" in replies[0] and "Deployed `abc123` to prod in " in replies[-1]
    updated = _current(slack, main["ts"])
    assert updated.get("edited") and "[Approve]" not in render_text(updated)
    assert "Approved by bob@example.com" in render_text(updated).replace("*", "")
    assert "Deployed `abc123`" in render_text(updated).replace("*", "")
    # The approval channel holds one message (the rest is in its thread); the requester's channel none.
    assert len([m for m in slack.messages() if not m.get("thread_ts")]) == 1


def test_the_requester_cannot_approve_their_own_deploy(
    platform: Any, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str
) -> None:
    _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE")
    main = _main_message(slack, APPROVALS)
    answer = _answer(slack, _click(slack, app_url, main, "deploy_approve", "U0ALICE"))
    assert ":no_entry:" in answer, answer
    time.sleep(0.5)  # a few poller passes
    (deployment,) = _deployments(platform)
    assert deployment["state"] == "pending_approval"
    assert _synced_revision(argocd, "payments-web-prod") != "abc123"
    assert slack.calls("chat.update") == []  # the message is only changed by the platform's notifier
    assert "[Approve] [Reject]" in render_text(_current(slack, main["ts"]))


def test_the_same_button_clicked_twice_deploys_once(
    platform: Any, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str
) -> None:
    _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE")
    main = _main_message(slack, APPROVALS)
    first = _click(slack, app_url, main, "deploy_approve", "U0BOB")
    second = _click(slack, app_url, main, "deploy_approve", "U0BOB")  # a new trigger id: not a duplicate delivery
    answers = sorted([_answer(slack, first), _answer(slack, second)])
    assert any("You approved" in a for a in answers), answers
    assert any("already approved by bob@example.com" in a.replace("*", "") for a in answers), answers

    (deployment,) = _deployments(platform)
    _wait_state(slack, platform, deployment["id"], "succeeded")
    history = (argocd.app("payments-web-prod") or {})["status"]["history"]
    assert [h["revision"] for h in history] == ["abc123"]
    assert len(_deployments(platform)) == 1


def test_a_retried_click_acts_once(platform: Any, slack: SlackEmulator, app_url: str) -> None:
    _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE")
    main = _main_message(slack, APPROVALS)
    payload = {
        "type": "block_actions",
        "trigger_id": "13345224609.738474920.8088930838",
        "actions": [_button(main, "deploy_reject")],
        "channel": {"id": APPROVALS, "name": "approvals"},
        "message": main,
    }
    for _ in range(2):
        assert slack.send_interaction(app_url, payload, user_id="U0BOB").status_code == 200
    (deployment,) = _deployments(platform)
    done = _wait_state(slack, platform, deployment["id"], "rejected")
    assert done["decided_by"] == BOB
    _wait(slack, lambda: "Rejected by" in render_text(_current(slack, main["ts"])), "the message updated")
    time.sleep(0.3)
    assert len(slack.responses()) == 2  # alice's command reply, and one answer to bob's click
    assert "[Approve]" not in render_text(_current(slack, main["ts"]))


def test_an_expired_approval_cannot_be_approved(
    platform: Any, db: Database, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str
) -> None:
    _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE")
    main = _main_message(slack, APPROVALS)
    db.run("UPDATE deployments SET approval_expires_at = now() - interval '1 second'")
    answer = _answer(slack, _click(slack, app_url, main, "deploy_approve", "U0BOB"))
    assert "expired" in answer and "You approved" not in answer, answer
    (deployment,) = _deployments(platform)
    assert deployment["state"] == "expired"
    _wait(slack, lambda: "Expired" in render_text(_current(slack, main["ts"])), "the message updated")
    assert "[Approve]" not in render_text(_current(slack, main["ts"]))
    assert _synced_revision(argocd, "payments-web-prod") != "abc123"


def test_an_unlinked_clicker_is_asked_to_link(platform: Any, slack: SlackEmulator, app_url: str) -> None:
    slack.add_user("U0DAVE", name="dave", email=DAVE, email_confirmed=False)
    _command(slack, app_url, "deploy web prod abc123", user_id="U0ALICE")
    main = _main_message(slack, APPROVALS)
    answer = _answer(slack, _click(slack, app_url, main, "deploy_approve", "U0DAVE"))
    assert "link your account" in answer.lower()
    assert _deployments(platform)[0]["state"] == "pending_approval"


def test_a_failed_sync_is_recorded_and_reported_in_the_thread(
    platform: Any, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str
) -> None:
    argocd.fail_next_sync("payments-web-dev", message="ImagePullBackOff: web:abc123 not found")
    reply = _command(slack, app_url, "deploy web dev abc123", user_id="U0ALICE", channel_id="C0GENERAL")
    assert "progress in the thread in #C0GENERAL" in reply or "failed" in reply, reply

    (deployment,) = _deployments(platform)
    failed = _wait_state(slack, platform, deployment["id"], "failed")
    assert "ImagePullBackOff" in (failed["message"] or "")
    main = _main_message(slack, "C0GENERAL")
    _wait(slack, lambda: any("failed" in r for r in _thread(slack, main["ts"])), "the failure in the thread")
    assert any("ImagePullBackOff: web:abc123 not found" in r for r in _thread(slack, main["ts"]))
    assert "Failed" in render_text(_current(slack, main["ts"]))


def test_status_history_and_rollback(platform: Any, slack: SlackEmulator, argocd: ArgoCdEmulator, app_url: str) -> None:
    for revision in ("v1", "v2"):
        reply = _command(slack, app_url, f"deploy web dev {revision}")
        assert "deploying; progress in the thread" in reply or "deployed in" in reply, reply
        latest = _deployments(platform, "dev")[0]
        _wait_state(slack, platform, latest["id"], "succeeded")

    status = _command(slack, app_url, "status web")
    assert "payments/web" in status and "dev" in status and "revision `v2`" in status, status
    assert "Healthy" in status

    history = _command(slack, app_url, "history web dev")
    assert history.index("`v2`") < history.index("`v1`") and "succeeded" in history, history

    reply = _command(slack, app_url, "rollback payments/web dev")
    assert "Rollback of `payments/web` `v1` to dev" in reply.replace("*", ""), reply
    rollback = _deployments(platform, "dev")[0]
    assert rollback["kind"] == "rollback"
    _wait_state(slack, platform, rollback["id"], "succeeded")
    assert _synced_revision(argocd, "payments-web-dev") == "v1"
    assert "rollback to `v1`" in _command(slack, app_url, "history web")


def test_a_viewer_cannot_deploy(platform: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str) -> None:
    slack.add_user("U0CAROL", name="carol", email=CAROL)
    sign_in(platform, oidc_issuer, CAROL)
    _ok(platform.call("POST", f"/tenants/{TENANT}/members", user=ALICE, json={"user": CAROL, "role": "viewer"}), 201)
    reply = _command(slack, app_url, "deploy web dev abc123", user_id="U0CAROL")
    assert ":no_entry:" in reply and "viewer" in reply, reply
    assert _deployments(platform) == []
    assert "Traceback" not in reply


def test_unknown_and_ambiguous_apps(api: Any, platform: Any, slack: SlackEmulator, app_url: str) -> None:
    assert "No app named `nope`" in _command(slack, app_url, "status nope")
    _ok(api.call("POST", "/tenants", user=ALICE, json=_tenant("orders")), 201)
    app = {"name": "web", "repo_url": REPO, "environments": ["dev"]}
    _ok(api.call("POST", "/tenants/orders/apps", user=ALICE, json=app), 201)
    reply = _command(slack, app_url, "deploy web dev")
    assert "Several of your tenants" in reply and "`orders/web`" in reply and "`payments/web`" in reply
    assert _deployments(platform) == []
    reply = _command(slack, app_url, "deploy orders/web dev")
    assert "`orders/web` `HEAD` to dev" in reply.replace("*", "") and "Traceback" not in reply, reply


def test_usage_of_the_deploy_commands(slack: SlackEmulator, app_url: str) -> None:
    response = slack.send_command(app_url, "deploy web")
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = render_text(body)
    assert "`/idp deploy` takes 2 to 3 argument(s): `<app> <env> [revision]`" in text, text
    assert "/idp rollback <app> <env> [to]" in text
    assert "is not an app name" in render_text(slack.send_command(app_url, "status Bad_App!").json())
