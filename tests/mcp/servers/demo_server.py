"""A small MCP server for the tests, written with the official `mcp` package (2.x).

    python demo_server.py                   stdio
    python demo_server.py --http PORT       streamable HTTP on 127.0.0.1:PORT/mcp
    python demo_server.py --crash-at-start  a last line on stderr, exit 1
Tools: add, echo, whoami (the env var DEMO_WHO), big (a long text), die (the process exits mid-call),
grow (adds a tool `late` and sends notifications/tools/list_changed).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return f"echo: {text}"


@server.tool()
def whoami() -> str:
    """The DEMO_WHO environment variable."""
    return os.environ.get("DEMO_WHO", "nobody")


@server.tool()
def big(size: int) -> str:
    """A text of `size` x characters."""
    return "x" * size


@server.tool()
def die() -> str:
    """The server process exits in the middle of this call."""
    print("demo: dying on purpose", file=sys.stderr, flush=True)
    os._exit(3)


def late() -> str:
    """A tool that appears after `grow`."""
    return "late tool ran"


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool `late` and tell the client the list changed."""
    server.add_tool(late)
    await ctx.session.send_tool_list_changed()  # the classic notifications/tools/list_changed
    return "grew"


if __name__ == "__main__":  # --tag X is ignored: tests find the process by it
    if "--crash-at-start" in sys.argv:
        print("demo: starting", file=sys.stderr)
        print("demo: cannot open the database /nonexistent/db.sqlite", file=sys.stderr)
        sys.exit(1)
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
