"""The Runner end to end against the simulator, for both the Responses and the Chat Completions API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from .runner_helpers import in_sim, kinds, last, runner_for, spec_for, turn


def test_plain_text_turn(tmp_path: Path, api: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "instructions": "Be nice."})

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "hello there"), await turn(runner, conv, "again")

    conv, events, second = in_sim(None, body)
    assert kinds(events) == [
        "turn_started",
        "agent_started",
        "generation_started",
        "text_delta*",
        "generation_done",
        "agent_finished",
        "turn_done",
    ]
    done = last(events, "turn_done")
    assert (done.status, done.output, done.agent, done.turn) == ("ok", "You said: hello there", "helper", 1)
    gen = last(events, "generation_done")
    assert gen.output == "You said: hello there" and gen.ttft_ms is not None and gen.usage.output_tokens > 0
    assert done.usage.input_tokens == gen.usage.input_tokens
    assert last(second, "turn_done").turn == 2 and conv.turns == 2
    assert conv.items[:2] == [
        {"type": "message", "role": "user", "content": "hello there"},
        {"type": "message", "role": "assistant", "content": "You said: hello there", "_agent": "helper"},
    ]
    assert len(conv.items) == 4


def test_tool_call_then_answer(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "tools": [{"python": f"{tools_module}:get_weather"}]})
    script = {
        "turns": [
            {
                "match": "weather",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"text": "It is {tool_output}."},
                ],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "weather in Paris?"), sim.requests

    conv, events, requests = in_sim(script, body)
    assert kinds(events) == [
        "turn_started",
        "agent_started",
        "generation_started",
        "generation_done",
        "tool_call_started",
        "tool_call_finished",
        "generation_started",
        "text_delta*",
        "generation_done",
        "agent_finished",
        "turn_done",
    ]
    finished = last(events, "tool_call_finished")
    assert (finished.name, finished.output, finished.error, finished.approved) == (
        "get_weather",
        "sunny in Paris",
        None,
        None,
    )
    done = last(events, "turn_done")
    assert done.output == "It is sunny in Paris."
    assert done.usage.output_tokens == sum(
        e.usage.output_tokens for e in events if e.type == "generation_done"
    )
    assert [i["type"] for i in conv.items] == ["message", "function_call", "function_call_output", "message"]
    assert conv.items[1]["call_id"] == conv.items[2]["call_id"] == finished.call_id
    tools_sent = requests[0]["tools"]
    assert len(tools_sent) == 1 and "get_weather" in json.dumps(tools_sent)


def test_parallel_tool_calls_run_concurrently(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "tools": [{"python": f"{tools_module}:wait"}]})
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    {
                        "tool_calls": [
                            {"name": "wait", "arguments": {"label": "slow", "seconds": 0.4}},
                            {"name": "wait", "arguments": {"label": "fast", "seconds": 0.05}},
                            {"name": "wait", "arguments": {"label": "mid", "seconds": 0.2}},
                        ]
                    },
                    {"text": "done"},
                ],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        loop = asyncio.get_running_loop()
        started = loop.time()
        events = await turn(runner, conv, "go")
        return conv, events, loop.time() - started

    conv, events, elapsed = in_sim(script, body)
    tool_events = [e for e in events if e.type.startswith("tool_call")]
    assert [e.type for e in tool_events] == ["tool_call_started"] * 3 + ["tool_call_finished"] * 3
    assert [e.output for e in tool_events[3:]] == ["fast", "mid", "slow"]  # as each ends
    # they ran together: one after another they would end in the model's order (slow, fast, mid)
    assert elapsed >= 0.4  # and the turn waited for the slowest
    # the history keeps the model's order: all calls, then their outputs
    outputs = [i["output"] for i in conv.items if i["type"] == "function_call_output"]
    assert outputs == ["slow", "fast", "mid"]


def test_handoff_switches_agent_instructions_and_tools(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(
        tmp_path,
        api,
        {"name": "triage", "instructions": "Route.", "handoffs": ["billing"]},
        {
            "name": "billing",
            "instructions": "Do billing.",
            "handoff_description": "Refunds.",
            "tools": [{"python": f"{tools_module}:get_weather"}],
        },
    )
    script = {
        "turns": [
            {
                "match": "refund",
                "reply": [
                    {"tool_call": {"name": "transfer_to_billing"}},
                    {"text": "Billing here."},
                ],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        events = await turn(runner, conv, "I want a refund")
        after = await turn(runner, conv, "and another")
        return conv, events, after, sim.requests

    conv, events, after, requests = in_sim(script, body)
    assert kinds(events) == [
        "turn_started",
        "agent_started",
        "generation_started",
        "generation_done",
        "handoff",
        "agent_finished",
        "agent_started",
        "generation_started",
        "text_delta*",
        "generation_done",
        "agent_finished",
        "turn_done",
    ]
    handoff = last(events, "handoff")
    assert (handoff.from_agent, handoff.to_agent) == ("triage", "billing")
    assert [e.agent for e in events if e.type in ("agent_started", "agent_finished")] == [
        "triage",
        "triage",
        "billing",
        "billing",
    ]
    assert last(events, "turn_done").agent == "billing" and conv.agent == "billing"
    outputs = [i["output"] for i in conv.items if i["type"] == "function_call_output"]
    assert outputs == ["Transferred to billing."]
    assert conv.items[-1]["_agent"] == "billing"

    def instructions(req: dict) -> str:  # type: ignore[type-arg]
        return req.get("instructions") or req["messages"][0]["content"]

    def tool_names(req: dict) -> list[str]:  # type: ignore[type-arg]
        return [t.get("name") or t["function"]["name"] for t in req.get("tools", [])]

    assert [instructions(r) for r in requests] == ["Route.", "Do billing.", "Do billing."]
    assert tool_names(requests[0]) == ["transfer_to_billing"] and tool_names(requests[1]) == ["get_weather"]
    assert last(after, "turn_started").agent == "billing"


def test_only_the_first_handoff_of_an_answer_counts(tmp_path: Path, api: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "triage", "handoffs": ["a", "b"]}, {"name": "a"}, {"name": "b"})
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [{"tool_calls": [{"name": "transfer_to_b"}, {"name": "transfer_to_a"}]}, "Here."],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "help")

    conv, events = in_sim(script, body)
    assert [(e.from_agent, e.to_agent) for e in events if e.type == "handoff"] == [("triage", "b")]
    assert [i["output"] for i in conv.items if i["type"] == "function_call_output"] == [
        "Transferred to b.",
        "error: only one handoff per answer; this one was ignored",
    ]
    assert conv.agent == "b"
