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
    "--help",
    "{y} {x}",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_model_values_stay_one_literal_argument(echo, tmp_path: Path, template: str) -> None:  # type: ignore[no-untyped-def]
    value = template.replace("{dir}", str(tmp_path))
    argv = json.loads(call(echo, "echo", x=value))
    assert argv == [value, f"--label={value}!", "{x}"]
    assert call(echo, "printf", x=value) == value
    assert not (tmp_path / "pwned").exists()


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
