"""McpServers against real MCP servers: the demo server over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcli.mcp import McpServerError
from agentcli.mcp.servers import McpServers
from agentcli.runtime.tools import build_tools
from agentcli.spec.model import AgentSpec, Spec

from .conftest import demo_command, new_tag, processes_with


def spec_with(tmp_path: Path, *servers: dict[str, Any], **agent: Any) -> Spec:
    a = AgentSpec.model_validate({"name": "a", "mcp_servers": list(servers), **agent})
    return Spec({"a": a}, "a", str(tmp_path / "agent.yaml"))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_stdio_tools_are_listed_filtered_and_called(tmp_path: Path) -> None:
    tag = new_tag()
    spec = spec_with(tmp_path, {"name": "demo", "command": demo_command(tag=tag), "env": {"DEMO_WHO": "ada"},
                                "tools": {"deny": ["die"]}, "max_output_bytes": 100})

    async def main() -> None:
        servers = McpServers(spec)
        await servers.start()
        try:
            assert processes_with(tag), "the server process runs while the session is open"
            tools = servers.tools_for("a")
            assert {"add", "echo", "whoami", "big", "grow"} <= set(tools) and "die" not in tools
            assert tools["add"].parameters["required"] == ["a", "b"]
            assert tools["add"].description == "Add two integers."
            assert await tools["add"].run({"a": 2, "b": 3}) == "5"
            assert await tools["whoami"].run({}) == "ada"  # env reaches the server
            capped = await tools["big"].run({"size": 500})
            assert capped.startswith("x" * 100) and capped.endswith("[output truncated at 100 bytes]")
        finally:
            await servers.aclose()
        assert processes_with(tag) == [], "no orphan after aclose"

    run(main())


def test_allow_list_keeps_only_the_named_tools(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, {"name": "demo", "command": demo_command(), "tools": {"allow": ["echo"]}})

    async def main() -> None:
        servers = McpServers(spec)
        await servers.start()
        try:
            assert list(servers.tools_for("a")) == ["echo"]
        finally:
            await servers.aclose()

    run(main())


def test_streamable_http(tmp_path: Path, http_server: str) -> None:
    spec = spec_with(tmp_path, {"name": "web", "url": http_server, "headers": {"X-Test": "1"}})

    async def main() -> None:
        servers = McpServers(spec)
        await servers.start()
        try:
            assert await servers.tools_for("a")["echo"].run({"text": "over http"}) == "echo: over http"
        finally:
            await servers.aclose()

    run(main())


def test_names_taken_twice_are_namespaced_by_server(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, {"name": "one", "command": demo_command(), "tools": {"allow": ["add", "echo"]}},
                     {"name": "two", "command": demo_command(), "tools": {"allow": ["add", "whoami"]}},
                     tools=[{"python": "os.path:basename", "name": "echo"}])

    async def main() -> None:
        servers = McpServers(spec)
        await servers.start()
        try:
            toolset = build_tools(spec, spec.agents["a"])
            toolset.extra = lambda: servers.tools_for("a", frozenset(toolset.tools))
            names = {s.name for s in toolset.schemas()}
            assert names == {"echo", "one__add", "two__add", "one__echo", "whoami"}
            result = await toolset.call("two__add", '{"a": 1, "b": 1}')
            assert result.output == "2"
        finally:
            await servers.aclose()

    run(main())


def test_list_changed_refreshes_the_tools(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, {"name": "demo", "command": demo_command()})

    async def main() -> None:
        servers = McpServers(spec)
        await servers.start()
        try:
            assert "late" not in servers.tools_for("a")
            version = servers.version
            changes: list[int] = []
            servers.listeners.append(lambda: changes.append(servers.version))
            assert await servers.tools_for("a")["grow"].run({}) == "grew"
            for _ in range(400):  # the refresh runs after the notification; a hang guard, not a timing
                if servers.version > version:
                    break
                await asyncio.sleep(0.05)
            assert await servers.tools_for("a")["late"].run({}) == "late tool ran"
            assert changes == [version + 1]
        finally:
            await servers.aclose()

    run(main())


def test_a_server_that_crashes_at_start_is_one_line_naming_it(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, {"name": "good", "command": demo_command()},
                     {"name": "broken", "command": demo_command("--crash-at-start")})

    async def main() -> None:
        servers = McpServers(spec)
        with pytest.raises(McpServerError) as info:
            await servers.start()
        return str(info.value)

    message = run(main())
    assert message.startswith("MCP server broken: ")
    assert message.endswith("(demo: cannot open the database /nonexistent/db.sqlite)")
    assert "\n" not in message


def test_a_missing_command_and_a_start_timeout(tmp_path: Path) -> None:
    missing = spec_with(tmp_path, {"name": "nope", "command": ["/nonexistent/mcp-server"]})
    silent = spec_with(tmp_path, {"name": "mute", "start_timeout": 0.5,
                                  "command": [sys.executable, "-c", "import time; time.sleep(60)"]})

    async def start(spec: Spec) -> str:
        with pytest.raises(McpServerError) as info:
            await McpServers(spec).start()
        return str(info.value)

    assert run(start(missing)).startswith("MCP server nope: ")
    assert run(start(silent)) == "MCP server mute: did not start within 0.5s"


def test_a_server_dying_mid_call_is_a_tool_error(tmp_path: Path) -> None:
    tag = new_tag()
    spec = spec_with(tmp_path, {"name": "demo", "command": demo_command(tag=tag)})

    async def main() -> tuple[Any, Any]:
        servers = McpServers(spec)
        await servers.start()
        try:
            toolset = build_tools(spec, spec.agents["a"])
            toolset.extra = lambda: servers.tools_for("a")
            died = await toolset.call("die", "{}")
            after = await toolset.call("add", '{"a": 1, "b": 2}')
            return died, after
        finally:
            await servers.aclose()

    died, after = run(main())
    assert died.error and died.output.startswith("error: MCP server demo: ")
    assert "demo: dying on purpose" in died.output  # its stderr's last line
    assert after.error and "MCP server demo" in after.output
    assert processes_with(tag) == []


def test_an_unreachable_url_names_it_without_credentials(tmp_path: Path) -> None:
    from .conftest import free_port

    url = f"http://user:secret@127.0.0.1:{free_port()}/mcp?token=secret"
    spec = spec_with(tmp_path, {"name": "web", "url": url, "start_timeout": 10})

    async def main() -> str:
        with pytest.raises(McpServerError) as info:
            await McpServers(spec).start()
        return str(info.value)

    message = run(main())
    assert message.startswith("MCP server web: http://127.0.0.1:") and "/mcp: " in message
    assert "secret" not in message


def test_error_lines_are_terminal_safe() -> None:
    from agentcli.mcp.connection import printable

    assert printable("boom \x1b]0;pwned\x07 \x1b[31mred\x1b[0m\nnext") == "boom ]0;pwned [31mred [0m next"
