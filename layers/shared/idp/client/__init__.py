"""The one client of the platform's own HTTPS API, shared by the CLI, the chat-ops app and the tests.

`ApiClient` is the transport (a requests session, a bearer token or a request signer, the
`X-IDP-Client` front end) with typed calls (`get(path, Model)`); `PlatformClient` adds a
method per route; `error_from_response` is the one parser of the API's error shape.
Errors are `idp.errors` types carrying the API's message, code, details and HTTP status.
"""

from idp.client.errors import api_unreachable, error_from_response
from idp.client.platform import PlatformClient
from idp.client.transport import ApiClient, segment

__all__ = ["ApiClient", "PlatformClient", "api_unreachable", "error_from_response", "segment"]
