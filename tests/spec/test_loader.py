"""Loading: interpolation, multi-agent files and entry, handoffs across files, resolve_spec."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agentcli.errors import SpecError, UsageError
from agentcli.spec.loader import default_spec, load_spec, resolve_spec
from agentcli.spec.model import BuiltinTool, PythonTool, ShellTool

Write = Callable[[str, str], Path]


def test_single_agent_file(write: Write) -> None:
    path = write("a.yaml", "name: solo\ntools: [current_time]\n")
    spec = load_spec(str(path))
    assert spec.entry == "solo" and list(spec.agents) == ["solo"]
    assert spec.entry_agent.tools == [BuiltinTool(builtin="current_time")]
    assert spec.path == str(path) and spec.base_dir == str(path.parent)


def test_env_interpolation_in_every_string(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCLI_TEST_MODEL", "gpt-test")
    monkeypatch.setenv("AGENTCLI_TEST_TEMP", "0.5")
    path = write(
        "a.yaml",
        """
        name: a
        model: ${AGENTCLI_TEST_MODEL}
        instructions: "costs $${PRICE} on ${AGENTCLI_TEST_MODEL}"
        model_settings: {temperature: "${AGENTCLI_TEST_TEMP}"}
        tools:
          - shell: {name: s, command: [echo, "${AGENTCLI_TEST_MODEL}"]}
        """,
    )
    agent = load_spec(str(path)).entry_agent
    assert agent.model == "gpt-test"
    assert agent.instructions == "costs ${PRICE} on gpt-test"
    assert agent.model_settings.temperature == 0.5
    tool = agent.tools[0]
    assert isinstance(tool, ShellTool) and tool.shell.command == ["echo", "gpt-test"]


def test_malformed_placeholder_is_an_error(write: Write) -> None:
    path = write("a.yaml", "name: a\ninstructions: 'pay ${ now'\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(path))
    assert info.value.problems[0].endswith(
        "instructions: bad ${...}: write ${NAME} for a variable, or $${ for a literal ${"
    )


def test_multi_agent_entry_flag(write: Write) -> None:
    path = write("m.yaml", "agents:\n  - name: first\n  - name: second\n    entry: true\n")
    spec = load_spec(str(path))
    assert spec.entry == "second" and list(spec.agents) == ["first", "second"]


def test_multi_agent_defaults_to_first(write: Write) -> None:
    spec = load_spec(str(write("m.yaml", "agents:\n  - name: first\n  - name: second\n")))
    assert spec.entry == "first"


def test_handoff_to_another_file_is_rewritten_to_its_entry(write: Write) -> None:
    write(
        "team/spanish.yaml",
        "agents:\n  - name: helper\n  - name: spanish\n    entry: true\n    handoffs: [../main.yaml]\n",
    )
    path = write("main.yaml", "name: main\nhandoffs: [team/spanish.yaml]\ntools: [{python: 'tools:get'}]\n")
    spec = load_spec(str(path))
    assert spec.entry == "main"
    assert spec.agents["main"].handoffs == ["spanish"]
    assert spec.agents["spanish"].handoffs == ["main"]  # the cycle back is fine: each file loads once
    assert set(spec.agents) == {"main", "helper", "spanish"}
    for agent in spec.agents.values():
        assert all(h in spec.agents for h in agent.handoffs)
    # relative paths (python tool modules) resolve against the file each agent came from
    assert spec.base_dir_for("spanish") == str(path.parent / "team")
    assert spec.base_dir_for("main") == str(path.parent)
    assert isinstance(spec.agents["main"].tools[0], PythonTool)


def test_problems_in_a_handoff_file_name_that_file(write: Write) -> None:
    write("sub/other.yaml", "name: other\nmodel_settings: {top_p: 9}\n")
    path = write("main.yaml", "name: main\nhandoffs: [sub/other.yaml]\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(path))
    (line,) = info.value.problems
    assert (
        line
        == f"{path.parent}/sub/other.yaml:2:25: model_settings.top_p: must be less than or equal to 1 (got 9)"
    )


def test_duplicate_agent_names_across_files(write: Write) -> None:
    write("other.yaml", "agents:\n  - name: x\n  - name: main\n")
    path = write("main.yaml", "name: main\nhandoffs: [other.yaml]\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(path))
    assert info.value.problems == [
        f"{path.parent}/other.yaml:3:11: agents[1].name: agent 'main' is already defined in {path}"
    ]


def test_text_with_display_name_resolves_against_cwd(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write("x/b.yaml", "name: b\n").parent
    monkeypatch.chdir(folder)
    spec = load_spec("<stdin>", text="name: a\nhandoffs: [b.yaml]\n")
    assert spec.path is None and spec.base_dir == str(folder)
    assert spec.agents["a"].handoffs == ["b"]
    with pytest.raises(SpecError) as info:
        load_spec("<stdin>", text="name: [\n")
    assert info.value.problems[0].startswith("<stdin>:")


def test_default_spec() -> None:
    spec = default_spec()
    assert spec.entry == "assistant" and spec.path is None
    assert spec.entry_agent.tools == [BuiltinTool(builtin="current_time")]
    assert "helpful" in spec.entry_agent.instructions


def test_resolve_spec_order(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_spec(None).entry == "assistant"
    monkeypatch.setenv("AGENT_SPEC", str(write("env.yaml", "name: from_env\n")))
    assert resolve_spec(None).entry == "from_env"
    assert resolve_spec(str(write("arg.yaml", "name: from_arg\n"))).entry == "from_arg"
    assert resolve_spec("-", stdin_text="name: from_stdin\n").entry == "from_stdin"


def test_resolve_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="stdin"):
        resolve_spec("-")
    with pytest.raises(SpecError) as info:
        resolve_spec(os.path.join(str(tmp_path), "missing.yaml"))
    assert info.value.problems == [f"{tmp_path}/missing.yaml: no such file"]
    with pytest.raises(SpecError, match="is a directory"):
        resolve_spec(str(tmp_path))
