from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from kubernetes import client

from idp_local.emulators.kubernetes import KubernetesEmulator

ADMIN_TOKEN = "emulator-admin-token"

MakeApi = Callable[..., client.ApiClient]


@pytest.fixture(scope="session")
def _open_emulator() -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def _token_emulator() -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator(token=ADMIN_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def kube(_open_emulator: KubernetesEmulator) -> KubernetesEmulator:
    """A started emulator without authentication, reset for each test."""
    _open_emulator.reset()
    return _open_emulator


@pytest.fixture
def secured(_token_emulator: KubernetesEmulator) -> KubernetesEmulator:
    """A started emulator that wants ``Bearer <admin_token>`` (or a live issued token), reset per test."""
    _token_emulator.reset()
    return _token_emulator


@pytest.fixture
def admin_token() -> str:
    return ADMIN_TOKEN


@pytest.fixture
def make_api() -> Iterator[MakeApi]:
    """``make_api(emulator, token=None)``: an official-client ApiClient for the emulator, closed afterwards."""
    made: list[client.ApiClient] = []

    def make(emulator: KubernetesEmulator, token: str | None = None) -> client.ApiClient:
        configuration = client.Configuration()
        configuration.host = emulator.url
        if token:
            configuration.api_key = {"authorization": token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        made.append(client.ApiClient(configuration))
        return made[-1]

    yield make
    for api_client in made:
        api_client.close()


@pytest.fixture
def api(kube: KubernetesEmulator, make_api: MakeApi) -> client.ApiClient:
    return make_api(kube)
