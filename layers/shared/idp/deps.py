"""Per-container dependencies for the edges (handlers, CLI, local runner).

Business code never calls these: it takes the Database and clients as arguments.
"""

from __future__ import annotations

from idp.clients.kubernetes import KubeClient, kube_client_from_settings
from idp.config import get_settings
from idp.db import Database, get_database

__all__ = ["database", "kube"]


def database() -> Database:
    return get_database()


def kube() -> KubeClient:
    return kube_client_from_settings(get_settings())
