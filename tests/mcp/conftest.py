"""MCP test servers: the small demo server (tests/mcp/servers/demo_server.py, stdio or streamable HTTP)
and the npm reference server-filesystem, installed into tests/mcp/node_modules by tests/run.sh."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DEMO = str(HERE / "servers" / "demo_server.py")
FILESYSTEM_JS = HERE / "node_modules" / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"


def demo_command(*extra: str, tag: str | None = None) -> list[str]:
    """argv of the demo server; `tag` is an extra argument to find its process by."""
    return [sys.executable, DEMO, *extra, *(["--tag", tag] if tag else [])]


def new_tag() -> str:
    return "mcp-test-" + uuid.uuid4().hex[:12]


def processes_with(tag: str) -> list[int]:
    """Pids of live processes whose command line contains `tag` (zombies excluded)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if tag in cmdline and "State:\tZ" not in status:
            pids.append(int(entry))
    return pids


def wait_for(predicate, what: str, limit: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until `predicate()` is true; fail naming `what` after `limit` seconds (a hang guard only)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """The demo server on streamable HTTP at a free loopback port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(demo_command("--http", str(port)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def listening() -> bool:
        if proc.poll() is not None:
            pytest.fail("the demo HTTP server exited")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, "the demo HTTP server to listen")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def filesystem_server() -> Path:
    if not FILESYSTEM_JS.exists():
        pytest.fail("tests/mcp/node_modules is missing: run `npm ci --prefix tests/mcp` (tests/run.sh does)")
    return FILESYSTEM_JS
