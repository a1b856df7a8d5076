"""Every kind of spec problem is one line `path:line:col: field.path: message`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agentcli.errors import SpecError, UsageError
from agentcli.spec.loader import load_spec

Problems = Callable[[str], list[str]]


def test_yaml_syntax_error_has_line_and_column(problems: Problems) -> None:
    assert problems("name: a\ntools: [current_time\n") == [
        "spec.yaml:3:1: yaml: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"
    ]


def test_yaml_bad_indentation(problems: Problems) -> None:
    (line,) = problems("name: a\n  model: b: c\n")
    assert line.startswith("spec.yaml:2:") and ": yaml: " in line


def test_unknown_key_lists_expected_keys_and_suggests(problems: Problems) -> None:
    (line,) = problems("name: a\ninstrutions: hi\n")
    assert line.startswith(
        "spec.yaml:2:1: instrutions: unknown key 'instrutions' (did you mean 'instructions'?"
    )
    assert "expected one of: name, instructions, handoff_description, model," in line


def test_unknown_nested_key_names_that_models_keys(problems: Problems) -> None:
    (line,) = problems("name: a\nmodel_settings:\n  temprature: 1\n")
    assert line.startswith("spec.yaml:3:3: model_settings.temprature: unknown key 'temprature'")
    assert "expected one of: temperature, top_p, max_tokens," in line


def test_wrong_type_points_at_the_value(problems: Problems) -> None:
    assert problems("name: a\nmodel_settings:\n  temperature: hot\n") == [
        "spec.yaml:3:16: model_settings.temperature: must be a number (got 'hot')"
    ]


def test_out_of_range_and_literal(problems: Problems) -> None:
    assert problems("name: a\nmodel_settings: {temperature: 3, reasoning_effort: max}\n") == [
        "spec.yaml:2:31: model_settings.temperature: must be less than or equal to 2 (got 3)",
        "spec.yaml:2:52: model_settings.reasoning_effort: must be one of: none, minimal, low, medium, high, xhigh"
        " (got 'max')",
    ]


def test_missing_required(problems: Problems) -> None:
    assert problems("instructions: hi\n") == ["spec.yaml:1:1: name: required"]


def test_bad_agent_name(problems: Problems) -> None:
    (line,) = problems("name: my agent\n")
    assert line == (
        "spec.yaml:1:7: name: must start with a letter and use only letters, digits, _ and - (at most 64)"
        " (got 'my agent')"
    )


def test_tool_shape_names_the_real_problem_without_union_noise(problems: Problems) -> None:
    lines = problems(
        """
        name: a
        tools:
          - shell:
              name: x
          - nme: foo
          - bogus
          - python: not-a-ref
        """
    )
    assert lines == [
        "spec.yaml:3:5: tools[0].shell.command: required",
        "spec.yaml:5:5: tools[1]: a tool needs one of: python, shell, builtin, agent (or a built-in name)",
        "spec.yaml:6:5: tools[2].builtin: must be one of: current_time, read_file (got 'bogus')",
        "spec.yaml:7:13: tools[3].python: must look like 'module:function'",
    ]
    assert not any("PythonTool" in line or "BuiltinTool" in line for line in lines)


def test_read_file_needs_root(problems: Problems) -> None:
    assert problems("name: a\ntools:\n  - builtin: read_file\n") == [
        "spec.yaml:3:5: tools[0]: read_file needs `root:`, the folder it may read"
    ]


def test_bad_regex_in_guardrail(problems: Problems) -> None:
    (line,) = problems('name: a\noutput_guardrails:\n  - regex: "(unclosed"\n')
    assert line.startswith("spec.yaml:3:12: output_guardrails[0].regex: bad regex: missing ), unterminated")


def test_guardrail_needs_exactly_one_kind(problems: Problems) -> None:
    assert problems("name: a\ninput_guardrails:\n  - {regex: x, keywords: [y]}\n") == [
        "spec.yaml:3:5: input_guardrails[0]: give exactly one of regex, keywords, python"
    ]


def test_unset_env_var(problems: Problems, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTCLI_TEST_UNSET", raising=False)
    assert problems("name: a\nmodel: ${AGENTCLI_TEST_UNSET}\n") == [
        "spec.yaml:2:8: model: environment variable AGENTCLI_TEST_UNSET is not set"
    ]


def test_env_value_is_never_echoed_in_errors(problems: Problems, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCLI_TEST_SECRET", "sk very secret")
    (line,) = problems("name: ${AGENTCLI_TEST_SECRET}\n")
    assert line.startswith("spec.yaml:1:7: name: must start with a letter")
    assert "very secret" not in line


def test_unknown_handoff_at_its_line(problems: Problems) -> None:
    assert problems("agents:\n  - name: a\n    handoffs: [b, nobody]\n  - name: b\n") == [
        "spec.yaml:3:19: agents[0].handoffs[1]: unknown agent 'nobody' (agents in this file: a, b; "
        "another file's path must end in .yaml or .yml)"
    ]


def test_handoff_to_self(problems: Problems) -> None:
    assert problems("name: a\nhandoffs: [a]\n") == [
        "spec.yaml:2:12: handoffs[0]: an agent cannot hand off to itself"
    ]


def test_handoff_file_missing(problems: Problems) -> None:
    (line,) = problems("name: a\nhandoffs: [other.yaml]\n")
    assert line.startswith("spec.yaml:2:12: handoffs[0]: no such spec file: other.yaml (looked for ")


def test_duplicate_entry(problems: Problems) -> None:
    assert problems("agents:\n  - {name: a, entry: true}\n  - name: b\n    entry: true\n") == [
        "spec.yaml:4:5: agents[1].entry: more than one agent has entry: true (first: agents[0] 'a')"
    ]


def test_duplicate_agent_names(problems: Problems) -> None:
    assert problems("agents:\n  - name: a\n  - name: a\n") == [
        "spec.yaml:3:11: agents[1].name: agent 'a' is already defined earlier in this file"
    ]


def test_duplicate_tool_names_including_handoffs(problems: Problems) -> None:
    lines = problems(
        """
        agents:
          - name: a
            tools:
              - current_time
              - python: mod:current_time
              - python: mod:other
                name: transfer_to_b
            handoffs: [b]
          - name: b
        """
    )
    assert lines == [
        "spec.yaml:5:9: agents[0].tools[1]: duplicate tool name 'current_time' (also agents[0].tools[0])",
        "spec.yaml:8:16: agents[0].handoffs[0]: duplicate tool name 'transfer_to_b'"
        " (also agents[0].tools[2])",
    ]


def test_duplicate_yaml_key(problems: Problems) -> None:
    assert problems("name: a\nmodel: x\nmodel: y\n") == ["spec.yaml:3:1: model: duplicate key 'model'"]


def test_all_problems_are_reported_together(problems: Problems) -> None:
    lines = problems("name: a\nmodel_settings: {temperature: hot}\nfoo: 1\ntools: [bogus]\n")
    assert [line.split(": ")[1] for line in lines] == [
        "model_settings.temperature",
        "foo",
        "tools[0].builtin",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "spec.yaml:1:1: the spec is empty (expected an agent, or `agents: [...]`)"),
        ("- a\n- b\n", "spec.yaml:1:1: a spec must be a mapping: an agent's keys, or `agents: [...]`"),
        ("agents: []\n", "spec.yaml:1:9: agents: must not be empty"),
        (
            "agents: [{name: a}]\nname: b\n",
            "spec.yaml:2:1: name: unknown key 'name' (expected one of: agents)",
        ),
    ],
)
def test_file_shape(problems: Problems, text: str, message: str) -> None:
    assert problems(text) == [message]


def test_file_not_found(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(missing)
    assert info.value.problems == [f"{missing}: no such file"]
    assert info.value.exit_code == 2


def test_directory_is_not_a_spec(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(str(tmp_path))


def test_load_spec_needs_path_or_text() -> None:
    with pytest.raises(UsageError):
        load_spec(None)


def test_non_string_keys_are_named_not_dropped_silently(problems: Problems) -> None:
    assert problems("name: a\non: 1\n") == ["spec.yaml:2:1: key 'on' is read as a boolean; quote it: 'on'"]


def test_two_tool_kinds_in_one_entry(problems: Problems) -> None:
    (line,) = problems("name: a\ntools:\n  - {python: 'm:f', shell: {name: x, command: [ls]}}\n")
    assert line.startswith("spec.yaml:3:21: tools[0].shell: unknown key 'shell' (expected one of: approve,")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name: a\nmodel: ""\n', "spec.yaml:2:8: model: must name a model (it is empty)"),
        ("name: a\nmodel: '  '\n", "spec.yaml:2:8: model: must name a model (it is empty)"),
        (
            'name: a\nprovider: {base_url: "javascript:alert(1)"}\n',
            "spec.yaml:2:22: provider.base_url: must be an http:// or https:// URL with a host",
        ),
        (
            "name: a\nprovider: {base_url: 'file:///etc/passwd'}\n",
            "spec.yaml:2:22: provider.base_url: must be an http:// or https:// URL with a host",
        ),
    ],
)
def test_empty_model_and_non_http_base_url(problems: Problems, text: str, message: str) -> None:
    assert problems(text) == [message]


def test_http_base_urls_pass(write: Callable[[str, str], Path]) -> None:
    for url in ("http://127.0.0.1:8080/v1", "HTTPS://example.test/v1"):
        spec = load_spec(str(write("spec.yaml", f"name: a\nprovider: {{base_url: '{url}'}}\n")))
        assert spec.entry_agent.provider.base_url == url


def test_escape_sequences_in_a_spec_are_written_out_in_errors(problems: Problems) -> None:
    (line,) = problems('name: a\nhandoffs: ["\\e]0;pwned\\a"]\n')
    assert "\x1b" not in line and "\x07" not in line
    assert line.startswith("spec.yaml:2:12: handoffs[0]: unknown agent '\\x1b]0;pwned\\x07'")
