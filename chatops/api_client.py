"""The platform API as the chat-ops app reaches it: the shared `idp.client.PlatformClient`, built
once per container's settings, with one pooled session that warm invocations reuse.

Two ways in: as the linked Slack user (`user_api`, with the five-minute token the auth function
handed out for this request, so that user's own rights apply to every action), and as the
chat-ops function itself (`chatops_api`: SigV4-signed with its role's credentials, which the
auth function's `/auth/slack/*` routes alone admit). Every call carries `X-IDP-Client: slack`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.client import PlatformClient
from idp.config import Settings, get_settings
from idp.errors import DownstreamError

if TYPE_CHECKING:
    import requests

    from idp.clients.sigv4 import SigV4Auth

__all__ = ["chatops_api", "chatops_auth", "user_api"]

_session: requests.Session | None = None
_signer: tuple[Settings, SigV4Auth] | None = None


def _shared_session() -> requests.Session:
    global _session
    if _session is None:
        import requests

        _session = requests.Session()
    return _session


def chatops_auth(settings: Settings) -> SigV4Auth:
    """The chat-ops function's SigV4 signer (its role's credentials, `AWS_REGION`), one per container."""
    global _signer
    if _signer is None or _signer[0] is not settings:
        from idp.clients.sigv4 import SigV4Auth

        if not settings.aws_region:
            raise DownstreamError("AWS_REGION is not set: the chat-ops app cannot sign its calls to the platform API")
        _signer = (settings, SigV4Auth(region=settings.aws_region))
    return _signer[1]


def _base(api_url: str | None) -> str:
    if not api_url:
        raise DownstreamError("the chat-ops app does not know the platform API's URL (set IDP_API_URL)")
    return api_url


def user_api(api_url: str | None, token: str) -> PlatformClient:
    """The API as the linked user whose token the auth function issued for this request."""
    timeout = get_settings().idp_api_timeout_seconds
    return PlatformClient(_base(api_url), token, front_end="slack", timeout=timeout, session=_shared_session())


def chatops_api(api_url: str | None) -> PlatformClient:
    """The API as the chat-ops function itself: only the auth function's /auth/slack/* routes admit it."""
    settings = get_settings()
    return PlatformClient(
        _base(api_url),
        auth=chatops_auth(settings),
        front_end="slack",
        timeout=settings.idp_api_timeout_seconds,
        session=_shared_session(),
    )
