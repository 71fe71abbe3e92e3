"""A response_url comes from the request body, so chat-ops posts replies only to Slack's own
hosts (the emulator's origin locally): never to a URL a request made up."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# Chat-ops' modules are top-level ones (its folder is the Lambda task root), as chatops/app.py arranges.
_CHATOPS = str(Path(__file__).resolve().parents[2] / "chatops")
if _CHATOPS not in sys.path:
    sys.path.append(_CHATOPS)



@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """A server that is not Slack, recording every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_only_slacks_hosts_are_response_urls(slack: Any) -> None:
    from replies import response_url_allowed

    assert response_url_allowed("https://hooks.slack.com/actions/T1/2/abc")
    assert response_url_allowed(f"{slack.url}/_responses/xyz")  # the emulator's origin, as SLACK_API_URL names it
    assert not response_url_allowed("https://hooks.slack.com.evil.example/actions")
    assert not response_url_allowed("http://hooks.slack.com/actions/T1/2/abc")  # not https
    assert not response_url_allowed("https://169.254.169.254/latest/meta-data")


def test_a_made_up_response_url_gets_no_post(slack: Any, elsewhere: tuple[str, list[str]]) -> None:
    from replies import reply

    url, hits = elsewhere
    assert reply({"response_url": f"{url}/steal"}, "secret answer") is False
    assert hits == []
