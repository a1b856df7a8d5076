"""A server that echoes the API key back in its error text: the key reaches neither stderr nor --jsonl."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.conftest import agent_env, run_agent

pytestmark = pytest.mark.e2e
KEY = "sk-planted-key-0123456789abcdef"


class _EchoKey(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"error": {"message": f"Invalid request for key {self.headers.get('authorization')}",
                                     "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("mode", ["--jsonl", "-q"])
def test_a_key_echoed_by_the_server_is_redacted(mode: str) -> None:
    server = HTTPServer(("127.0.0.1", 0), _EchoKey)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = agent_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_port}/v1")
        r = run_agent("chat", "-m", "hi", mode, env=env)
    finally:
        server.shutdown()
    assert r.returncode == 1
    assert "Invalid request for key" in r.stderr + r.stdout  # the message itself is kept ...
    assert KEY not in r.stderr and KEY not in r.stdout  # ... without the key
    assert "Traceback" not in r.stderr
