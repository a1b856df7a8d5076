"""One MCP server: a task holds its transport (stdio process or streamable HTTP) and session open from
start() to close(), so anyio's scopes are entered and left in the same task. Imports the `mcp` package:
load this module only when a spec has `mcp_servers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agentcli.mcp import McpServerError
from agentcli.runtime.tools.base import ToolFailed
from agentcli.spec.model import McpServer

_STOP_TIMEOUT = 8.0  # the SDK's own stdio shutdown is bounded at ~6.5 s (close stdin, TERM, KILL)


class McpConnection:
    def __init__(self, config: McpServer, base_dir: str, on_change: Callable[[McpConnection], None] | None = None):
        self.config = config
        self.name = config.name
        self.base_dir = base_dir
        self.tools: list[types.Tool] = []  # filtered by the spec's allow/deny
        self.dead: str | None = None  # why calls can no longer be made, once the server has gone
        self._on_change = on_change
        self._session: ClientSession | None = None
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._refreshes: set[asyncio.Task[None]] = set()
        self._errlog = tempfile.TemporaryFile(mode="w+") if config.command else None  # noqa: SIM115

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, initialize and list tools, within start_timeout. Raises McpServerError naming the
        server and, for a process, the last line it wrote on stderr."""
        self._ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.config.start_timeout)
        except TimeoutError:
            await self.close()
            raise McpServerError(self._describe(f"did not start within {self.config.start_timeout:g}s")) from None
        except McpServerError:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the server (stdin closed, then TERM and KILL of its process group) and wait for it."""
        self._stop.set()
        for task in list(self._refreshes):
            task.cancel()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=_STOP_TIMEOUT)
            if not done:  # never seen; cancelling is the last resort
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    async def _run(self) -> None:
        assert self._ready is not None
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write, message_handler=self._on_message))
                await session.initialize()
                self._session = session
                await self._refresh()
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as e:  # noqa: BLE001 - reported to start() or as the reason calls fail
            reason = _reason(e)
            if not self._ready.done():
                self._ready.set_exception(McpServerError(self._describe(self._start_failure(reason))))
            elif self.dead is None and not self._stop.is_set():
                self.dead = self._describe(reason)
            if isinstance(e, asyncio.CancelledError):
                raise
        finally:
            self._session = None
            if self._ready.done() and self.dead is None and not self._stop.is_set():
                self.dead = self._describe("stopped")

    def _transport(self) -> Any:
        config = self.config
        if config.command:
            argv = config.command
            cwd = os.path.join(self.base_dir, config.cwd) if config.cwd else self.base_dir
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(config.env) or None, cwd=cwd)
            return stdio_client(params, errlog=self._errlog or sys.stderr)
        assert config.url is not None
        http = create_mcp_http_client(headers=dict(config.headers) or None)
        return streamable_http_client(config.url, http_client=http)

    # --- tools --------------------------------------------------------------------------------------

    async def _refresh(self) -> None:
        session = self._session
        if session is None:
            return
        listed: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            result = await session.list_tools(params=params)
            listed += result.tools
            cursor = result.next_cursor
            if not cursor:
                break
        allow, deny = self.config.tools.allow, set(self.config.tools.deny)
        self.tools = [t for t in listed if (allow is None or t.name in allow) and t.name not in deny]
        if self._on_change is not None:
            self._on_change(self)

    async def _on_message(self, message: Any) -> None:
        # Called inline by the session's dispatcher: listing here would wait on the dispatcher itself.
        if isinstance(message, types.ToolListChangedNotification):
            task = asyncio.ensure_future(self._refresh_quietly())
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)

    async def _refresh_quietly(self) -> None:
        with contextlib.suppress(Exception):  # a failed refresh keeps the last list; calls report errors
            await self._refresh()

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        """The tool's output as text for the model; ToolFailed when the server reports an error or has
        gone. The caller (Toolset) applies the timeout."""
        session = self._session
        if session is None or self.dead:
            raise ToolFailed(self.dead or f"MCP server {self.name} is not running")
        try:
            result = await session.call_tool(tool, arguments)
        except Exception as e:
            reason = _reason(e)
            if "closed" in reason.lower() or self._task is None or self._task.done():
                self.dead = self._describe(reason)
                raise ToolFailed(self.dead) from None
            raise ToolFailed(f"{self.name}: {reason}") from None
        text = result_text(result)
        if result.is_error:
            raise ToolFailed(text or f"{tool} failed")
        return cap(text, self.config.max_output_bytes)

    # --- errors -------------------------------------------------------------------------------------

    def last_stderr_line(self) -> str | None:
        if self._errlog is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            fd = self._errlog.fileno()
            size = os.fstat(fd).st_size
            tail = os.pread(fd, 4096, max(0, size - 4096)).decode("utf-8", errors="replace")
            lines = [line.strip() for line in tail.splitlines() if line.strip()]
            return lines[-1] if lines else None
        return None

    def _start_failure(self, reason: str) -> str:
        if self.config.url:
            return f"{public_url(self.config.url)}: {reason}"
        if reason == "Connection closed":  # the SDK's words when the process's stdout ends
            return "the server exited before it was ready"
        return reason

    def _describe(self, reason: str) -> str:
        line = self.last_stderr_line()
        where = f" ({line})" if line else ""
        return printable(f"MCP server {self.name}: {reason}{where}")


def _reason(err: BaseException) -> str:
    if isinstance(err, BaseExceptionGroup):
        inner = [e for e in err.exceptions if not isinstance(e, asyncio.CancelledError)]
        if inner:
            return _reason(inner[0])
    if isinstance(err, asyncio.CancelledError):
        return "cancelled"
    if isinstance(err, FileNotFoundError):
        return f"command not found: {err.filename or err}"
    if isinstance(err, PermissionError):
        return f"cannot run the command: {err.strerror or err}"
    text = " ".join(str(err).split())
    return text or type(err).__name__


def result_text(result: types.CallToolResult) -> str:
    """A tools/call result as text: text parts as they are, other parts as a short mark."""
    parts: list[str] = []
    for item in result.content:
        if isinstance(item, types.TextContent):
            parts.append(item.text)
        elif isinstance(item, types.EmbeddedResource) and isinstance(item.resource, types.TextResourceContents):
            parts.append(item.resource.text)
        elif isinstance(item, types.ResourceLink):
            parts.append(f"[resource {item.uri}]")
        else:
            mark = " ".join(str(x) for x in (getattr(item, "type", "content"), getattr(item, "mime_type", None)) if x)
            parts.append(f"[{mark}]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def cap(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore") + f"\n[output truncated at {max_bytes} bytes]"


def public_url(url: str) -> str:
    """The URL without credentials or query (they may hold a token): scheme://host[:port]/path."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def printable(text: str, limit: int = 400) -> str:
    """One terminal-safe line: a server's stderr may hold escape sequences; they never reach the terminal."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
