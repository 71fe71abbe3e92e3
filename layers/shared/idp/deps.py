"""Per-container dependencies for the edges (handlers, CLI, local runner).

Business code never calls these: it takes the Database and clients as arguments.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from idp.config import Settings, get_settings
from idp.db import Database, get_database

if TYPE_CHECKING:
    from idp.clients.argocd import ArgoCdClient
    from idp.clients.kubernetes import KubeClient
    from idp.clients.slack import SlackClient
    from idp.deploy.notifications import Notifier

__all__ = ["argocd", "database", "kube", "notifier", "reset_clients", "slack"]

_lock = threading.Lock()
_argocd: tuple[Settings, ArgoCdClient] | None = None
_slack: tuple[Settings, SlackClient] | None = None


def database() -> Database:
    return get_database()


def kube() -> KubeClient:
    from idp.clients.kubernetes import kube_client_from_settings  # only the tenant function talks to Kubernetes

    return kube_client_from_settings(get_settings())


def argocd() -> ArgoCdClient:
    """One Argo CD client per container (rebuilt when the settings are reloaded)."""
    global _argocd
    from idp.clients.argocd import ArgoCdClient

    settings = get_settings()
    with _lock:
        if _argocd is None or _argocd[0] is not settings:
            if not settings.argocd_url:
                raise RuntimeError("ARGOCD_URL is not configured")
            client = ArgoCdClient(
                settings.argocd_url, settings.resolved_argocd_token(), timeout=settings.argocd_timeout_seconds
            )
            _argocd = (settings, client)
        return _argocd[1]


def notifier() -> Notifier | None:
    """Slack notifications of deployments; None when no Slack bot token is configured."""
    from idp.deploy.notifications import notifier_from_settings

    return notifier_from_settings(get_settings())


def slack() -> SlackClient:
    """The platform's Slack bot (one client per container; the token is read on its first call)."""
    global _slack
    from idp.clients.slack import SlackClient

    settings = get_settings()
    with _lock:
        if _slack is None or _slack[0] is not settings:
            if settings.slack_bot_token is None and not settings.slack_bot_token_secret_id:
                raise RuntimeError("SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_SECRET_ID) is not configured")
            _slack = (settings, SlackClient(settings.resolved_slack_bot_token, base_url=settings.slack_api_url))
        return _slack[1]


def reset_clients() -> None:
    global _argocd, _slack
    with _lock:
        if _argocd is not None:
            _argocd[1].close()
        _argocd = None
        _slack = None
