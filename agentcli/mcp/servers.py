"""A session's MCP servers: started once, in parallel; each agent sees its servers' tools, renamed
`<server>__<tool>` when a name is taken; stopped together (also on SIGTERM) at the end.

Entry points: `McpServers(spec)` + `await start()` / `await aclose()`, or `async with open_mcp(spec) as mcp`
(None when the spec has no servers). `Runner(spec, config, mcp=mcp)` offers the tools to the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from agentcli.runtime.tools.base import Tool
from agentcli.spec.model import McpServer, Spec

if TYPE_CHECKING:
    from agentcli.mcp.connection import McpConnection

_NAME_MAX = 64
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def has_mcp(spec: Spec) -> bool:
    return any(a.mcp_servers for a in spec.agents.values())


class McpTool(Tool):
    """One tool of an MCP server, as the model sees it (maybe renamed) and as the server names it."""

    def __init__(self, conn: McpConnection, remote: Any, name: str):
        self.conn = conn
        self.server = conn.name
        self.remote_name: str = remote.name
        self.name = name
        self.description = (remote.description or remote.title or f"{remote.name} (MCP server {conn.name})")[:1024]
        schema = remote.input_schema if isinstance(remote.input_schema, dict) else {}
        self.parameters = {**_EMPTY_SCHEMA, **schema}
        self.approve = conn.config.approve
        self.timeout = conn.config.timeout

    async def run(self, arguments: dict[str, Any]) -> str:
        return await self.conn.call(self.remote_name, arguments)


class McpServers:
    def __init__(self, spec: Spec):
        from agentcli.mcp.connection import McpConnection
        from agentcli.runtime.tools.toolset import agent_base_dir

        self.spec = spec
        self.connections: dict[str, McpConnection] = {}  # by a key of the server's whole config
        self._by_agent: dict[str, list[str]] = {}
        self.version = 0  # bumped whenever a server's tool list changes
        self.listeners: list[Callable[[], None]] = []  # told of each change (realtime: send session.update)
        self._cache: dict[tuple[str, frozenset[str]], tuple[int, dict[str, Tool]]] = {}
        for key, agent in spec.agents.items():
            keys = self._by_agent.setdefault(key, [])
            for server in agent.mcp_servers:
                base_dir = agent_base_dir(spec, agent)
                ckey = _config_key(server, base_dir)
                if ckey not in self.connections:
                    self.connections[ckey] = McpConnection(server, base_dir, on_change=self._changed)
                keys.append(ckey)

    def _changed(self, _: Any) -> None:
        self.version += 1
        for listener in list(self.listeners):
            listener()

    async def start(self) -> None:
        """Start every server at once. If any fails, the others are stopped and its McpServerError raised."""
        conns = list(self.connections.values())
        try:
            results = await asyncio.gather(*(c.start() for c in conns), return_exceptions=True)
        except BaseException:  # cancelled (Ctrl-C, SIGTERM) while starting: stop what did start
            await self.aclose()
            raise
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.aclose()
            raise failures[0]

    async def aclose(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections.values()), return_exceptions=True)

    def servers_of(self, agent_key: str) -> list[McpConnection]:
        return [self.connections[k] for k in self._by_agent.get(agent_key, [])]

    def tools_for(self, agent_key: str, reserved: set[str] | frozenset[str] = frozenset()) -> dict[str, Tool]:
        """The agent's MCP tools by the name the model calls them. A name that another of its servers
        or one of `reserved` (its spec tools and handoffs) also has becomes `<server>__<tool>`."""
        cache_key = (agent_key, frozenset(reserved))
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        conns = self.servers_of(agent_key)
        seen: dict[str, int] = {}
        for conn in conns:
            for remote in conn.tools:
                seen[remote.name] = seen.get(remote.name, 0) + 1
        tools: dict[str, Tool] = {}
        for conn in conns:
            for remote in conn.tools:
                name = _clean(remote.name)
                if seen[remote.name] > 1 or name in reserved or name in tools:
                    name = _clean(f"{conn.name}__{remote.name}")
                if name in tools or name in reserved:
                    continue  # still taken after namespacing: the first one wins
                tools[name] = McpTool(conn, remote, name)
        self._cache[cache_key] = (self.version, tools)
        return tools


def _clean(name: str) -> str:
    """A tool name the model APIs accept: letters, digits, _ and -, at most 64."""
    return _BAD_CHARS.sub("_", name)[:_NAME_MAX] or "tool"


def _config_key(server: McpServer, base_dir: str) -> str:
    return base_dir + "\0" + server.model_dump_json()


@asynccontextmanager
async def open_mcp(spec: Spec) -> AsyncIterator[McpServers | None]:
    """The spec's MCP servers, started (None if it has none), stopped on the way out. While open, SIGTERM
    is handled like Ctrl-C so the servers are stopped rather than orphaned."""
    if not has_mcp(spec):
        yield None
        return
    servers = McpServers(spec)
    with sigterm_as_interrupt():
        try:
            await servers.start()
            yield servers
        finally:
            await servers.aclose()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Any:
    """While open, SIGTERM acts as Ctrl-C (see catch_sigterm)."""
    release = catch_sigterm()
    try:
        yield
    finally:
        release()


def catch_sigterm() -> Callable[[], None]:
    """Make SIGTERM raise SIGINT, which asyncio.run turns into cancellation + KeyboardInterrupt (exit 130),
    so `finally` blocks stop the servers. Left alone when someone already handles SIGTERM. Returns the
    function that undoes it."""
    try:
        loop = asyncio.get_running_loop()
        if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
            return lambda: None
        loop.add_signal_handler(signal.SIGTERM, signal.raise_signal, signal.SIGINT)
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread, or no signals here
        return lambda: None

    def release() -> None:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGTERM)

    return release
