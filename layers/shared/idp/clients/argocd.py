"""The only module that talks to Argo CD (its REST API, with a bearer token).

`requests` is imported on first use, one Session per client. Every failure becomes an
`ArgoCdError`: unreachable, timed out or 5xx -> `ArgoCdUnavailable`; 404 -> `ArgoCdNotFound`;
403 -> `ArgoCdForbidden`; 400/409 -> `ArgoCdRejected` carrying Argo CD's own message. The
token is never logged nor shown in a repr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from idp.errors import DownstreamError

if TYPE_CHECKING:
    import requests

__all__ = [
    "ArgoCdClient",
    "ArgoCdError",
    "ArgoCdForbidden",
    "ArgoCdNotFound",
    "ArgoCdRejected",
    "ArgoCdUnavailable",
]

_NO_OPERATION = "no operation is in progress"


class ArgoCdError(DownstreamError):
    """Argo CD answered an error (``http_status``) or could not be reached (``http_status`` None)."""

    code = "argocd_error"

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message, details={"argocd_status": http_status})
        self.http_status = http_status


class ArgoCdUnavailable(ArgoCdError):
    code = "argocd_unavailable"


class ArgoCdNotFound(ArgoCdError):
    code = "argocd_not_found"


class ArgoCdForbidden(ArgoCdError):
    code = "argocd_forbidden"


class ArgoCdRejected(ArgoCdError):
    """Argo CD refused the request (validation, conflict, an operation in progress); ``message`` is its own."""

    code = "argocd_rejected"


_BY_STATUS: dict[int, type[ArgoCdError]] = {
    400: ArgoCdRejected,
    403: ArgoCdForbidden,
    404: ArgoCdNotFound,
    409: ArgoCdRejected,
}


def _q(name: str) -> str:
    return quote(name, safe="")


class ArgoCdClient:
    """Projects, applications, syncs and rollbacks over Argo CD's REST API."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"ArgoCdClient({self.base_url!r})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> ArgoCdClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- raw requests -------------------------------------------------------------
    def request(
        self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        import requests

        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update({"Authorization": f"Bearer {self._token}", "Accept": "application/json"})
        what = f"Argo CD {method} {path}"
        try:
            response = self._session.request(
                method, self.base_url + path, json=body, params=params, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise ArgoCdUnavailable(f"{what}: unreachable ({type(exc).__name__})") from exc
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {"message": response.text[:200]}
        if not isinstance(payload, dict):
            payload = {"items": payload}
        status = response.status_code
        if 200 <= status < 300:
            return payload
        message = str(payload.get("message") or payload.get("error") or f"HTTP {status}")
        if status >= 500:
            raise ArgoCdUnavailable(f"{what}: {message}", http_status=status)
        raise _BY_STATUS.get(status, ArgoCdError)(message, http_status=status)

    # -- projects -----------------------------------------------------------------
    def get_project(self, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"/api/v1/projects/{_q(name)}")
        except ArgoCdNotFound:
            return None

    def upsert_project(self, project: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/v1/projects", body={"project": project, "upsert": True})

    def delete_project(self, name: str) -> bool:
        """Deletes; False when it was already gone."""
        try:
            self.request("DELETE", f"/api/v1/projects/{_q(name)}")
        except ArgoCdNotFound:
            return False
        return True

    def project_token(self, project: str, role: str) -> str:
        """A bearer token for ``proj:<project>:<role>`` (the role must exist in the project)."""
        answer = self.request("POST", f"/api/v1/projects/{_q(project)}/roles/{_q(role)}/token", body={})
        return str(answer["token"])

    # -- applications -------------------------------------------------------------
    def get_app(self, name: str, *, project: str | None = None) -> dict[str, Any] | None:
        """The application, or None if missing; `ArgoCdForbidden` if it belongs to another project."""
        params = {"project": project} if project else None
        try:
            return self.request("GET", f"/api/v1/applications/{_q(name)}", params=params)
        except ArgoCdNotFound:
            return None

    def list_apps(self, project: str | None = None) -> list[dict[str, Any]]:
        params = {"project": project} if project else None
        return list(self.request("GET", "/api/v1/applications", params=params).get("items") or [])

    def upsert_app(self, app: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/v1/applications", body=app, params={"upsert": "true"})

    def delete_app(self, name: str) -> bool:
        """Deletes; False when it was already gone."""
        try:
            self.request("DELETE", f"/api/v1/applications/{_q(name)}")
        except ArgoCdNotFound:
            return False
        return True

    def sync(self, name: str, *, revision: str | None = None, prune: bool = False) -> dict[str, Any]:
        """Starts a sync (to ``revision``, else the app's targetRevision); returns the app with its operation."""
        body: dict[str, Any] = {"prune": prune, "dryRun": False}
        if revision:
            body["revision"] = revision
        return self.request("POST", f"/api/v1/applications/{_q(name)}/sync", body=body)

    def rollback(self, name: str, history_id: int) -> dict[str, Any]:
        """Re-deploys ``status.history[id]``; Argo CD refuses while automated sync is on."""
        body = {"id": history_id, "prune": False, "dryRun": False}
        return self.request("POST", f"/api/v1/applications/{_q(name)}/rollback", body=body)

    def terminate(self, name: str) -> bool:
        """Terminates the running operation; False when none was running."""
        try:
            self.request("DELETE", f"/api/v1/applications/{_q(name)}/operation")
        except ArgoCdRejected as exc:
            if _NO_OPERATION in exc.message.lower():
                return False
            raise
        return True
