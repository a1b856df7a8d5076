"""`tools: - agent: researcher`: a sub-agent answers as a tool, with its own tools, guardrails and limits;
its events come nested under the call (SubAgentEvent) and its spans nest under the call's span."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentcli.events import SubAgentEvent
from agentcli.spec.loader import load_spec
from agentcli.tracing.tree import SpanTree

from .conftest import write_module
from .runner_helpers import in_sim, last, runner_for, spec_for, turn

TOOLS = '''
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"
'''

SCRIPT = {"turns": [
    {"match": "capital", "reply": [{"tool_call": {"name": "ask_researcher", "arguments": {"input": "look up France"}}},
                                   {"text": "Main: {tool_output}"}]},
    {"match": "look up", "reply": [{"tool_call": {"name": "lookup", "arguments": {"key": "France"}}},
                                   {"text": "Research: {tool_output}"}]},
    {"match": "secret", "reply": [{"tool_call": {"name": "ask_researcher", "arguments": {"input": "the secret"}}},
                                  {"text": "Main: {tool_output}"}]},
]}


def team(tmp_path: Path, **researcher: Any):  # type: ignore[no-untyped-def]
    module = write_module(tmp_path, TOOLS)
    return spec_for(
        tmp_path, "responses",
        {"name": "main", "tools": [{"agent": "researcher", "name": "ask_researcher", "description": "Research."}]},
        {"name": "researcher", "tools": [{"python": f"{module}:lookup"}],
         "input_guardrails": [{"keywords": ["secret"], "message": "no secrets"}], **researcher},
    )


def run(spec: Any, message: str) -> tuple[list[Any], Any]:
    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return await turn(runner, conv, message), conv

    return in_sim(SCRIPT, body)


class Sink:
    def __init__(self) -> None:
        self.spans: list[Any] = []

    def span_ended(self, span: Any) -> None:
        self.spans.append(span)

    def span_amended(self, span: Any) -> None:
        pass

    def trace_error(self, message: str) -> None:
        pass

    def trace_notice(self, notice: Any) -> None:
        pass


def test_the_sub_agent_answers_as_a_tool_with_its_own_tools(tmp_path: Path) -> None:
    events, conv = run(team(tmp_path), "what is the capital?")
    done = last(events, "turn_done")
    assert (done.status, done.output, done.agent) == ("ok", "Main: Research: value of France", "main")
    schema = [e for e in events if e.type == "tool_call_started"]
    assert [e.name for e in schema] == ["ask_researcher"]  # the sub-run's own calls are nested, not top-level
    nested = [e for e in events if isinstance(e, SubAgentEvent)]
    inner = [e.event.type for e in nested]
    assert "agent_started" in inner and "turn_started" not in inner and "turn_done" not in inner
    assert {e.call_id for e in nested} == {schema[0].call_id}
    lookup = [e.event for e in nested if e.event.type == "tool_call_finished"]
    assert [(e.name, e.output, e.agent) for e in lookup] == [("lookup", "value of France", "researcher")]
    order = [e.type for e in events]
    assert order.index("tool_call_started") < order.index("sub_agent_event") < order.index("tool_call_finished")
    # the sub-run's items stay out of the caller's conversation
    assert [i.get("name") for i in conv.items if i["type"] == "function_call"] == ["ask_researcher"]


def test_the_sub_agent_keeps_its_guardrails_and_max_turns(tmp_path: Path) -> None:
    events, _ = run(team(tmp_path), "tell me the secret")
    finished = [e for e in events if e.type == "tool_call_finished"][-1]
    assert finished.error == "ask_researcher: no secrets"
    assert last(events, "turn_done").output == "Main: error: ask_researcher: no secrets"

    spec = team(tmp_path, max_turns=1)
    events, _ = run(spec, "what is the capital?")
    finished = [e for e in events if e.type == "tool_call_finished"][-1]
    assert finished.error is not None and "max_turns" in finished.error


def test_sub_agent_spans_nest_under_the_tool_call(tmp_path: Path) -> None:
    events, _ = run(team(tmp_path), "what is the capital?")
    sink = Sink()
    tree = SpanTree(sink)
    for event in events:
        tree.feed(event)
    tree.finish(events[-1].ts, "ok")
    by_id = {s.span_id: s for s in sink.spans}
    call = next(s for s in sink.spans if s.kind == "function" and s.name == "ask_researcher")
    sub_agent = next(s for s in sink.spans if s.kind == "agent" and s.name == "researcher")
    lookup = next(s for s in sink.spans if s.kind == "function" and s.name == "lookup")
    assert sub_agent.parent_id == call.span_id
    assert by_id[lookup.parent_id] is sub_agent
    sub_generations = [s for s in sink.spans if s.kind == "generation" and s.parent_id == sub_agent.span_id]
    assert len(sub_generations) == 2
    assert all(s.status == "ok" for s in sink.spans)


def test_an_agent_tool_from_another_spec_file(tmp_path: Path) -> None:
    (tmp_path / "helper.yaml").write_text("name: helper\nhandoff_description: Knows things.\n")
    (tmp_path / "main.yaml").write_text("name: main\ntools:\n  - agent: helper.yaml\n    max_turns: 2\n")
    spec = load_spec(str(tmp_path / "main.yaml"))
    assert set(spec.agents) == {"main", "helper"}
    tool = spec.agents["main"].tools[0]
    assert (tool.agent, tool.max_turns) == ("helper", 2)
    from agentcli.runtime.tools import build_tools

    (built,) = build_tools(spec, spec.agents["main"]).tools.values()
    assert (built.name, built.description) == ("helper", "Knows things.")


def test_unknown_and_self_agent_tools_are_spec_errors(tmp_path: Path) -> None:
    import pytest

    from agentcli.errors import SpecError

    (tmp_path / "a.yaml").write_text("name: a\ntools:\n  - agent: nobody\n  - agent: a\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(tmp_path / "a.yaml"))
    text = "\n".join(info.value.problems)
    assert "tools[0].agent: unknown agent 'nobody'" in text
    assert "tools[1].agent: an agent cannot be its own tool" in text
