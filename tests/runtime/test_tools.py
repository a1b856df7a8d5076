"""Toolset: python tools, builtins, approval, failures as error strings, handoff schemas."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from agentcli.errors import ToolError
from agentcli.runtime.tools import build_tools
from agentcli.runtime.tools.builtins import READ_FILE_MAX_BYTES, current_time

from .conftest import make_spec, write_module

MODULE = '''
import asyncio, threading

def add(a: int, b: int = 2) -> int:
    """Add two numbers."""
    return a + b

async def slow(seconds: float) -> str:
    """Sleep a while."""
    await asyncio.sleep(seconds)
    return "slept"

def boom() -> str:
    raise RuntimeError("kaput")

def which_thread() -> str:
    return threading.current_thread().name

def structured() -> dict:
    return {"ok": True, "n": [1, 2]}
'''


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def py_spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    mod = write_module(tmp_path, MODULE)
    return make_spec(
        tmp_path,
        {
            "name": "a",
            "tools": [
                {"python": f"{mod}:add"},
                {"python": f"{mod}:slow", "timeout": 0.2},
                {"python": f"{mod}:boom"},
                {"python": f"{mod}:which_thread"},
                {"python": f"{mod}:structured", "name": "facts", "description": "Some facts."},
                {"python": f"{mod}:add", "name": "guarded_add", "approve": True},
            ],
        },
    )


def test_python_tool_schema_and_call(py_spec) -> None:  # type: ignore[no-untyped-def]
    tools = build_tools(py_spec, py_spec.entry_agent)
    schemas = {s.name: s for s in tools.schemas()}
    assert schemas["add"].description == "Add two numbers."
    assert schemas["add"].parameters["required"] == ["a"]
    assert schemas["facts"].description == "Some facts."
    result = run(tools.call("add", '{"a": 40}'))
    assert (result.output, result.error, result.approved) == ("42", None, None)
    assert json.loads(run(tools.call("facts", "{}")).output) == {"ok": True, "n": [1, 2]}


def test_sync_tools_run_in_a_worker_thread(py_spec) -> None:  # type: ignore[no-untyped-def]
    tools = build_tools(py_spec, py_spec.entry_agent)
    assert run(tools.call("which_thread", "")).output != "MainThread"


def test_failures_become_error_strings(py_spec) -> None:  # type: ignore[no-untyped-def]
    tools = build_tools(py_spec, py_spec.entry_agent)
    boom = run(tools.call("boom", "{}"))
    assert boom.output == "error: RuntimeError: kaput" and boom.error == "RuntimeError: kaput"
    slow = run(tools.call("slow", '{"seconds": 5}'))
    assert slow.output == "error: slow timed out after 0.2s"
    assert run(tools.call("add", '{"a": "x"}')).output.startswith(
        "error: invalid arguments: $.a: expected integer"
    )
    assert run(tools.call("add", "{not json")).output.startswith("error: arguments are not valid JSON")
    assert run(tools.call("nope", "{}")).output == "error: there is no tool named 'nope'"


def test_approval(py_spec) -> None:  # type: ignore[no-untyped-def]
    tools = build_tools(py_spec, py_spec.entry_agent)
    asked: list[tuple[str, str]] = []

    async def yes(name: str, args: str) -> bool:
        asked.append((name, args))
        return True

    async def no(name: str, args: str) -> bool:
        return False

    ok = run(tools.call("guarded_add", '{"a": 1}', yes))
    assert (ok.output, ok.approved) == ("3", True)
    assert asked == [("guarded_add", '{"a": 1}')]
    refused = run(tools.call("guarded_add", '{"a": 1}', no))
    assert (refused.output, refused.approved) == ("the user did not approve running guarded_add", False)
    nobody = run(tools.call("guarded_add", '{"a": 1}', None))
    assert nobody.approved is False and "did not approve" in nobody.output
    assert run(tools.call("add", '{"a": 1}', no)).output == "3"  # no approval needed


def test_bad_import_raises_tool_error_naming_the_tool(tmp_path: Path) -> None:
    mod = write_module(tmp_path, "def f() -> None: ...\n")
    for ref, reason in [
        ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
        (f"{mod}:missing", f"module '{mod}' has no 'missing'"),
    ]:
        spec = make_spec(tmp_path, {"name": "a", "tools": [{"python": ref}]})
        with pytest.raises(ToolError, match=re.escape(f"tool {ref}: {reason}")) as info:
            build_tools(spec, spec.entry_agent)
        assert info.value.exit_code >= 1


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.exit(5)\n", "it called sys.exit(5)"),
        ("raise ValueError('no config')\n", "ValueError: no config"),
        ("import not_installed_xyz\n", "no module named 'not_installed_xyz'"),
    ],
)
def test_a_module_failing_at_import_is_one_tool_error_naming_it(tmp_path: Path, source: str, reason: str) -> None:
    mod = write_module(tmp_path, source + "def f() -> None: ...\n")
    spec = make_spec(tmp_path, {"name": "a", "tools": [{"python": f"{mod}:f"}]})
    with pytest.raises(ToolError) as info:
        build_tools(spec, spec.entry_agent)
    assert str(info.value) == f"tool {mod}:f: importing {mod} failed: {reason}"


def test_chat_with_a_tool_module_that_exits_at_import_is_exit_2(tmp_path: Path) -> None:
    from tests.conftest import run_agent

    (tmp_path / "exits.py").write_text("import sys\nsys.exit(5)\ndef f() -> None: ...\n")
    (tmp_path / "spec.yaml").write_text("name: a\ntools: [{python: 'exits:f'}]\n")
    result = run_agent("chat", str(tmp_path / "spec.yaml"), "--sim", "-m", "hi", "--no-trace")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert "exits:f" in line and "sys.exit(5)" in line
    assert result.stdout == ""


_ABANDON = """
import asyncio, sys
sys.path.insert(0, {root!r})
from agentcli.runtime.tools.python_tool import PythonFunctionTool
import time

def nap() -> str:
    time.sleep(3600)
    return "woke"

tool = PythonFunctionTool(nap, timeout=0.2)

async def main() -> None:
    try:
        await asyncio.wait_for(tool.run({{}}), tool.timeout)
    except TimeoutError:
        print("timed out", flush=True)

asyncio.run(main())
"""


def test_a_timed_out_python_tool_does_not_hold_the_exit() -> None:
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    # The harness timeout is the bound: before the fix the exit waited the full hour for the thread.
    done = subprocess.run(
        [sys.executable, "-c", _ABANDON.format(root=root)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "timed out\n", "")


def test_duplicate_tool_names_are_refused(tmp_path: Path) -> None:
    mod = write_module(tmp_path, "def f() -> None: ...\n")
    spec = make_spec(tmp_path, {"name": "a", "tools": [{"python": f"{mod}:f"}, {"python": f"{mod}:f"}]})
    with pytest.raises(ToolError, match="two tools are named 'f'"):
        build_tools(spec, spec.entry_agent)


def test_handoff_tools(tmp_path: Path) -> None:
    spec = make_spec(
        tmp_path,
        {"name": "triage", "handoffs": ["billing", "support"]},
        {"name": "billing", "handoff_description": "Invoices and refunds."},
        {"name": "support"},
    )
    tools = build_tools(spec, spec.entry_agent)
    schemas = {s.name: s for s in tools.schemas()}
    assert schemas["transfer_to_billing"].description == "Invoices and refunds."
    assert schemas["transfer_to_support"].description == "Hand the conversation over to support."
    assert schemas["transfer_to_billing"].parameters["properties"] == {}
    assert tools.handoff_target("transfer_to_billing") == "billing"
    assert tools.handoff_target("add") is None


def test_current_time() -> None:
    before = datetime.now().astimezone().replace(microsecond=0)
    local = current_time()
    after = datetime.now().astimezone()
    parsed = datetime.fromisoformat(local)
    assert parsed.tzinfo is not None
    assert before <= parsed <= after  # now, to the second
    fixed = datetime.fromisoformat("2026-01-15T12:00:00+00:00")
    assert current_time("Asia/Tokyo", now=fixed) == "2026-01-15T21:00:00+09:00"
    assert current_time("America/New_York", now=fixed) == "2026-01-15T07:00:00-05:00"


def test_current_time_tool_and_bad_zone(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"name": "a", "tools": ["current_time"]})
    tools = build_tools(spec, spec.entry_agent)
    assert datetime.fromisoformat(run(tools.call("current_time", "{}")).output).tzinfo is not None
    bad = run(tools.call("current_time", '{"timezone": "Mars/Olympus"}'))
    assert bad.output.startswith("error: unknown time zone 'Mars/Olympus'")


@pytest.fixture
def reader(tmp_path: Path):  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("hello")
    (docs / "sub" / "b.txt").write_text("nested")
    (docs / "big.txt").write_text("x" * (READ_FILE_MAX_BYTES + 50))
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", docs / "link.txt")
    os.symlink(tmp_path, docs / "uplink")
    spec = make_spec(tmp_path, {"name": "a", "tools": [{"builtin": "read_file", "root": "docs"}]})
    return build_tools(spec, spec.entry_agent)


def read(tools, path: str) -> str:  # type: ignore[no-untyped-def]
    return run(tools.call("read_file", json.dumps({"path": path}))).output


def test_read_file_inside_root(reader) -> None:  # type: ignore[no-untyped-def]
    assert read(reader, "a.txt") == "hello"
    assert read(reader, "sub/../sub/b.txt") == "nested"
    assert read(reader, ".").splitlines() == ["a.txt", "big.txt", "link.txt", "sub/", "uplink/"]
    big = read(reader, "big.txt")
    assert big.endswith(f"[truncated at {READ_FILE_MAX_BYTES} bytes]")
    assert big.count("x") == READ_FILE_MAX_BYTES


@pytest.mark.parametrize(
    "path", ["../secret.txt", "link.txt", "uplink/secret.txt", "/etc/passwd", "sub/../../secret.txt"]
)
def test_read_file_refuses_escapes(reader, path: str) -> None:  # type: ignore[no-untyped-def]
    out = read(reader, path)
    assert out == f"error: {path} is outside the folder this tool may read"
    assert "TOP SECRET" not in out


def test_read_file_missing_and_bad_root(reader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert read(reader, "nope.txt") == "error: no such file: nope.txt"
    spec = make_spec(tmp_path, {"name": "a", "tools": [{"builtin": "read_file", "root": "missing"}]})
    with pytest.raises(ToolError, match="read_file: root 'missing' is not a folder"):
        build_tools(spec, spec.entry_agent)


def test_read_file_refuses_fifos_and_sockets_without_blocking(reader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socket

    os.mkfifo(tmp_path / "docs" / "pipe")  # opening it for reading would wait for a writer forever
    assert read(reader, "pipe") == "error: pipe is a FIFO, not a regular file"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "docs" / "sock"))
        assert read(reader, "sock") == "error: sock is a socket, not a regular file"
    assert "pipe" in read(reader, ".")  # still listed


def test_tools_of_a_handoff_file_resolve_against_that_file(tmp_path: Path) -> None:
    from agentcli.spec.loader import load_spec

    (tmp_path / "main").mkdir()
    (tmp_path / "other").mkdir()
    mod = write_module(tmp_path / "other", "def hello() -> str:\n    return 'hi from other'\n")
    (tmp_path / "other" / "docs").mkdir()
    (tmp_path / "other" / "docs" / "note.txt").write_text("other note")
    (tmp_path / "main" / "agent.yaml").write_text("name: main\nhandoffs: [../other/other.yaml]\n")
    (tmp_path / "other" / "other.yaml").write_text(
        f"name: other\ntools:\n  - python: {mod}:hello\n  - builtin: read_file\n    root: docs\n"
    )
    spec = load_spec(str(tmp_path / "main" / "agent.yaml"))
    tools = build_tools(spec, spec.agents["other"])
    assert run(tools.call("hello", "{}")).output == "hi from other"
    assert read(tools, "note.txt") == "other note"
    assert build_tools(spec, spec.entry_agent).handoff_target("transfer_to_other") == "other"
