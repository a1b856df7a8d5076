"""MCP benchmarks (issue 14): process start -> first answer byte of `agent chat --sim -m hi` with one stdio
MCP server (the demo server of tests/mcp) against the same spec without it, and the per-call overhead of an
MCP tool against a python tool doing the same work (adding two integers), in process.

    python bench/mcp_bench.py [--runs N] [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

DEMO = c.ROOT / "tests" / "mcp" / "servers" / "demo_server.py"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def first_byte(folder: Path, runs: int) -> dict[str, float]:
    plain = folder / "plain.yaml"
    plain.write_text("name: a\n")
    with_mcp = folder / "mcp.yaml"
    with_mcp.write_text(f"name: a\nmcp_servers:\n  - name: demo\n    command: [{sys.executable}, {DEMO}]\n")
    env = c.base_env(folder / "home")  # `python -m agentcli` from this checkout, for both rows
    out: dict[str, list[float]] = {"without MCP": [], "one stdio MCP server": []}
    for _ in range(runs):  # interleaved, so drift hits both alike
        for label, spec in (("without MCP", plain), ("one stdio MCP server", with_mcp)):
            cmd = [sys.executable, "-m", "agentcli", "chat", str(spec), "--sim", "-m", "hi", "--no-trace"]
            out[label].append(c.time_process(cmd, env, first_byte=True))
    return {k: statistics.median(v) for k, v in out.items()}


async def per_call(folder: Path, calls: int) -> dict[str, float]:
    from agentcli.mcp.servers import open_mcp
    from agentcli.runtime.tools import Toolset
    from agentcli.runtime.tools.python_tool import PythonFunctionTool
    from agentcli.spec.model import AgentSpec, Spec

    agent = AgentSpec.model_validate({"name": "a", "mcp_servers": [
        {"name": "demo", "command": [sys.executable, str(DEMO)], "tools": {"allow": ["add"]}}]})
    spec = Spec({"a": agent}, "a", str(folder / "agent.yaml"))
    python_tools = Toolset([PythonFunctionTool(add)])
    async with open_mcp(spec) as mcp:
        assert mcp is not None
        mcp_tools = Toolset([])
        mcp_tools.extra = lambda: mcp.tools_for("a")
        result: dict[str, float] = {}
        for label, toolset in (("python tool", python_tools), ("MCP tool (stdio)", mcp_tools)):
            for _ in range(20):  # warm-up
                await toolset.call("add", '{"a": 1, "b": 2}')
            times = []
            for i in range(calls):
                start = time.perf_counter()
                r = await toolset.call("add", f'{{"a": {i}, "b": 2}}')
                times.append(time.perf_counter() - start)
                assert r.output == str(i + 2), r
            result[label] = statistics.median(times)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        starts = first_byte(folder, args.runs)
        calls = asyncio.run(per_call(folder, args.calls))
    print("| measure | median |")
    print("|---|---|")
    for label, value in starts.items():
        print(f"| `agent chat --sim -m hi`, start to first answer byte, {label} | {value:.3f} s |")
    for label, value in calls.items():
        print(f"| one call of `add(a, b)` through the Toolset, {label} | {value * 1000:.3f} ms |")


if __name__ == "__main__":
    main()
