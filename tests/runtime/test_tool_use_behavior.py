"""tool_use_behavior as openai-agents defines it: run_llm_again, stop_on_first_tool, {stop_at_tools: [...]}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import write_module
from .runner_helpers import in_sim, kinds, last, runner_for, spec_for, turn

TOOLS = '''
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"

def note(text: str) -> str:
    """Write a note."""
    return f"noted {text}"
'''

SCRIPT = {"turns": [
    {"match": "one", "reply": [{"tool_call": {"name": "lookup", "arguments": {"key": "k"}}},
                               {"text": "the model again: {tool_output}"}]},
    {"match": "both", "reply": [{"tool_calls": [{"name": "note", "arguments": {"text": "n"}},
                                                {"name": "lookup", "arguments": {"key": "k"}}]},
                                {"text": "the model again"}]},
]}


def run_with(tmp_path: Path, behavior: Any, message: str) -> tuple[list[Any], Any]:
    module = write_module(tmp_path, TOOLS)
    spec = spec_for(tmp_path, "responses", {
        "name": "a", "tool_use_behavior": behavior,
        "tools": [{"python": f"{module}:lookup"}, {"python": f"{module}:note"}],
    })

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return await turn(runner, conv, message), conv

    return in_sim(SCRIPT, body)


def test_run_llm_again_is_the_default(tmp_path: Path) -> None:
    events, _ = run_with(tmp_path, "run_llm_again", "one")
    assert last(events, "turn_done").output == "the model again: value of k"
    assert kinds(events).count("generation_started") == 2


def test_stop_on_first_tool_answers_with_its_output(tmp_path: Path) -> None:
    events, conv = run_with(tmp_path, "stop_on_first_tool", "one")
    done = last(events, "turn_done")
    assert (done.status, done.output) == ("ok", "value of k")
    assert kinds(events).count("generation_started") == 1  # the model is not asked again
    assert last(events, "text_delta").delta == "value of k"  # renderers and speech get the answer
    assert conv.items[-1]["role"] == "assistant" and conv.items[-1]["content"] == "value of k"
    assert [i["type"] for i in conv.items] == ["message", "function_call", "function_call_output", "message"]


def test_stop_on_first_tool_takes_the_first_call_in_order(tmp_path: Path) -> None:
    events, _ = run_with(tmp_path, "stop_on_first_tool", "both")
    assert last(events, "turn_done").output == "noted n"


@pytest.mark.parametrize(("stop_at", "expected"), [
    (["lookup"], "value of k"),  # a listed tool was called: its output is the answer
    (["other"], "the model again"),  # none was: the model runs again
])
def test_stop_at_tools(tmp_path: Path, stop_at: list[str], expected: str) -> None:
    events, _ = run_with(tmp_path, {"stop_at_tools": stop_at}, "both")
    assert last(events, "turn_done").output == expected


def test_bad_behavior_is_a_spec_error(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from agentcli.spec.model import AgentSpec

    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"name": "a", "tool_use_behavior": "stop_sometimes"})
    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"name": "a", "tool_use_behavior": {"stop_at_tools": []}})
