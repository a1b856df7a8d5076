"""Shell tools: argv substitution (no shell, no injection), types, timeouts, truncation, exit codes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentcli.errors import ToolError
from agentcli.runtime.tools import build_tools
from agentcli.runtime.tools.shell import substitute

from .conftest import make_spec

ECHO_ARGV = [sys.executable, "-c", "import sys,json; print(json.dumps(sys.argv[1:]))"]


def shell_tools(folder: Path, *shells: dict[str, Any]):  # type: ignore[no-untyped-def]
    spec = make_spec(folder, {"name": "a", "tools": [{"shell": s} for s in shells]})
    return build_tools(spec, spec.entry_agent)


def call(tools, name: str, **args: Any) -> str:  # type: ignore[no-untyped-def]
    return asyncio.run(tools.call(name, json.dumps(args))).output


@pytest.fixture
def echo(tmp_path: Path):  # type: ignore[no-untyped-def]
    return shell_tools(
        tmp_path,
        {"name": "echo", "command": [*ECHO_ARGV, "{x}", "--label={x}!", "{{x}}"], "params": {"x": {}}},
        {"name": "printf", "command": ["printf", "%s", "{x}"], "params": {"x": {}}},
    )


INJECTIONS = [
    "; touch {dir}/pwned",
    "$(touch {dir}/pwned)",
    "`touch {dir}/pwned`",
    "a\ntouch {dir}/pwned",
    "| touch {dir}/pwned && echo",
    "' \"; touch {dir}/pwned #",
    "{y} {x}",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_model_values_stay_one_literal_argument(echo, tmp_path: Path, template: str) -> None:  # type: ignore[no-untyped-def]
    value = template.replace("{dir}", str(tmp_path))
    argv = json.loads(call(echo, "echo", x=value))
    assert argv == [value, f"--label={value}!", "{x}"]
    assert call(echo, "printf", x=value) == value
    assert not (tmp_path / "pwned").exists()


def test_a_value_starting_with_dash_never_becomes_an_option(tmp_path: Path) -> None:
    target = tmp_path / "written"
    (tmp_path / "in.txt").write_text("b\na\n")
    tools = shell_tools(
        tmp_path,
        {"name": "sort", "command": ["sort", "{x}", "in.txt"], "params": {"x": {}}, "cwd": "."},
        {"name": "num", "command": [*ECHO_ARGV, "{n}"], "params": {"n": {"type": "integer"}}},
    )
    out = call(tools, "sort", x=f"--output={target}")
    assert out == (
        "error: x: a value starting with '-' would be read by sort as an option; give it without the leading '-'"
    )
    assert not target.exists()
    assert call(tools, "num", n=-3).startswith("error: n: a value starting with '-'")
    assert call(tools, "sort", x="in.txt") == "a\na\nb\nb\n"


def test_dash_values_pass_after_double_dash_or_with_allow_option(tmp_path: Path) -> None:
    tools = shell_tools(
        tmp_path,
        {"name": "after", "command": [*ECHO_ARGV, "--", "{x}"], "params": {"x": {}}},
        {"name": "allowed", "command": [*ECHO_ARGV, "{x}"], "params": {"x": {"allow_option": True}}},
        {"name": "prefixed", "command": [*ECHO_ARGV, "--label={x}", "x{x}"], "params": {"x": {}}},
        {
            "name": "mixed",
            "command": [*ECHO_ARGV, "{a}{b}"],
            "params": {"a": {"default": ""}, "b": {"allow_option": True}},
        },
    )
    assert json.loads(call(tools, "after", x="--help")) == ["--", "--help"]
    assert json.loads(call(tools, "allowed", x="-n")) == ["-n"]
    assert json.loads(call(tools, "prefixed", x="-v")) == ["--label=-v", "x-v"]
    assert call(tools, "mixed", b="-x").startswith("error: a, b: a value starting with '-'")


def test_substitute_is_single_pass() -> None:
    assert substitute("{a}-{b}", {"a": "{b}", "b": "2"}) == "{b}-2"
    assert substitute("{{a}}", {"a": "x"}) == "{a}"


def test_param_types_defaults_and_missing(tmp_path: Path) -> None:
    tools = shell_tools(
        tmp_path,
        {
            "name": "typed",
            "command": [*ECHO_ARGV, "{n}", "{ratio}", "{loud}", "{color}"],
            "params": {
                "n": {"type": "integer"},
                "ratio": {"type": "number", "default": 0.5},
                "loud": {"type": "boolean", "default": False},
                "color": {"enum": ["red", "blue"], "default": "red"},
            },
        },
    )
    schema = tools.schemas()[0].parameters
    assert schema["required"] == ["n"]
    assert schema["properties"]["color"] == {"type": "string", "enum": ["red", "blue"], "default": "red"}
    assert json.loads(call(tools, "typed", n=3)) == ["3", "0.5", "false", "red"]
    assert json.loads(call(tools, "typed", n="7", ratio=2, loud=True, color="blue")) == [
        "7",
        "2",
        "true",
        "blue",
    ]
    assert call(tools, "typed") == "error: missing required parameter: n"
    assert call(tools, "typed", n="seven") == "error: n must be an integer"
    assert call(tools, "typed", n=True) == "error: n must be an integer"
    assert call(tools, "typed", n=1, color="green") == "error: color must be one of ['red', 'blue']"
    assert call(tools, "typed", n=1, extra="x") == "error: unknown parameter(s): extra"
    assert call(tools, "typed", n=1, loud="maybe") == "error: loud must be a boolean"


def test_string_param_rejects_non_strings_and_nul(echo) -> None:  # type: ignore[no-untyped-def]
    assert call(echo, "echo", x=5) == "error: x must be a string"
    assert call(echo, "echo", x="a\x00b") == "error: x contains a NUL byte"


def test_undeclared_placeholder_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"shell tool bad: command uses \{y\} but params has no y"):
        shell_tools(tmp_path, {"name": "bad", "command": ["echo", "{y}"]})


@pytest.mark.timeout(20)  # the harness bounds it: waiting for `sleep 30` would fail the test
def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    tools = shell_tools(
        tmp_path,
        {
            "name": "hang",
            # a grandchild that would write the marker later; killing only `sh` would leave it running
            "command": ["sh", "-c", f"(sleep 0.4; touch {marker}) & sleep 30"],
            "timeout": 0.3,
        },
    )
    assert call(tools, "hang") == "error: hang timed out after 0.3s"
    time.sleep(0.7)
    assert not marker.exists()


_SETSID = """
import asyncio, json, sys
sys.path.insert(0, {root!r})
from agentcli.runtime.tools import build_tools
from agentcli.spec.model import AgentSpec, Spec

script = "setsid sh -c 'echo $$ > {pidfile}; exec sleep 3600' & sleep 3600"
agent = AgentSpec.model_validate(
    {{"name": "a", "tools": [{{"shell": {{"name": "hang", "command": ["sh", "-c", script], "timeout": 0.5}}}}]}}
)
tools = build_tools(Spec({{"a": agent}}, "a", None), agent)
print(asyncio.run(tools.call("hang", "{{}}")).output)
"""


def test_timeout_ends_a_setsid_grandchild_without_exit_noise(tmp_path: Path) -> None:
    import os
    import subprocess

    pidfile = tmp_path / "grandchild.pid"
    root = str(Path(__file__).resolve().parents[2])
    code = _SETSID.format(root=root, pidfile=pidfile)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.stderr) == ("error: hang timed out after 0.5s\n", "")  # no "Exception ignored"
    grandchild = int(pidfile.read_text())
    for _ in range(200):  # killed at the timeout; give its zombie a moment to be reaped
        try:
            os.kill(grandchild, 0)
            if Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.05)
    else:
        os.kill(grandchild, 9)
        raise AssertionError("the setsid grandchild outlived the tool's timeout")


def test_a_background_descendant_holding_the_pipe_is_ended_and_the_output_kept(tmp_path: Path) -> None:
    tools = shell_tools(
        tmp_path,
        # exits at once, but a setsid grandchild keeps stdout open for an hour
        {"name": "bg", "command": ["sh", "-c", "echo before; setsid sleep 3600 & echo after"], "timeout": 30},
    )
    assert call(tools, "bg") == "before\nafter\n"


def test_output_truncated_exit_code_and_stderr(tmp_path: Path) -> None:
    tools = shell_tools(
        tmp_path,
        {"name": "big", "command": [sys.executable, "-c", "print('x' * 5000)"], "max_output_bytes": 100},
        {
            "name": "fail",
            "command": [
                sys.executable,
                "-c",
                "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)",
            ],
        },
        {"name": "stdin", "command": ["cat"]},
        {"name": "missing", "command": ["definitely-not-a-command-xyz"]},
        {"name": "here", "command": ["pwd"], "cwd": "sub"},
    )
    (tmp_path / "sub").mkdir()
    assert call(tools, "big") == "x" * 100 + "\n[output truncated at 100 bytes]"
    out = call(tools, "fail")
    assert "out" in out and "err" in out and out.endswith("[exit code 3]")
    assert call(tools, "stdin") == ""  # stdin is /dev/null: cat ends at once
    assert call(tools, "missing") == "error: command not found: definitely-not-a-command-xyz"
    assert call(tools, "here").strip() == str(tmp_path / "sub")
