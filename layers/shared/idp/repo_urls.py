"""Repository URLs as the platform stores and compares them (one spelling per repository)."""

from __future__ import annotations

import re

__all__ = ["normalize_repo_url"]

# fullmatch: Python's `$` would accept a trailing newline.
_HTTPS_REPO = re.compile(r"https://([A-Za-z0-9.-]+(?::\d+)?)/([A-Za-z0-9._~/-]+?)(?:\.git)?/?")
_SSH_REPO = re.compile(r"(?:ssh://)?git@([A-Za-z0-9.-]+)[:/]([A-Za-z0-9._~/-]+?)(?:\.git)?/?")


def normalize_repo_url(url: str) -> str:
    """One spelling per repository (lowercase host, no trailing `.git` or `/`), as Argo CD compares them.

    Only https:// and git@ URLs are accepted, and never globs: a tenant's project must name
    exact repositories.
    """
    text = url.strip()
    for pattern, scheme in ((_HTTPS_REPO, "https://{host}/{path}"), (_SSH_REPO, "git@{host}:{path}")):
        match = pattern.fullmatch(text)
        if match:
            path = match.group(2).strip("/")
            if not path or ".." in path.split("/"):
                break
            return scheme.format(host=match.group(1).lower(), path=path)
    raise ValueError(f"{url!r} is not a repository URL (use https://host/owner/repo or git@host:owner/repo)")
