"""The Runner end to end against the simulator, for both the Responses and the Chat Completions API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentcli.runtime.conversation import Conversation

from .conftest import write_module
from .runner_helpers import in_sim, kinds, last, runner_for, spec_for, turn

TOOLS = '''
import asyncio

def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"

async def wait(label: str, seconds: float) -> str:
    """Wait, then say the label."""
    await asyncio.sleep(seconds)
    return label
'''


@pytest.fixture(params=["responses", "chat"])
def api(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tools_module(tmp_path: Path) -> str:
    return write_module(tmp_path, TOOLS)


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


def test_input_guardrail_blocks_without_a_model_call(tmp_path: Path, api: str) -> None:
    spec = spec_for(
        tmp_path,
        api,
        {
            "name": "helper",
            "input_guardrails": [
                {"name": "no-passwords", "regex": "password", "message": "I can't help with passwords."}
            ],
        },
    )

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "What's my PASSWORD?"), len(sim.requests)

    conv, events, requests = in_sim(None, body)
    assert kinds(events) == ["turn_started", "guardrail_checked", "turn_done"]
    check = last(events, "guardrail_checked")
    assert (check.name, check.stage, check.tripped) == ("no-passwords", "input", True)
    done = last(events, "turn_done")
    assert (done.status, done.error) == ("guardrail", "I can't help with passwords.")
    assert requests == 0 and conv.items == [] and conv.turns == 0


def test_output_guardrail_replaces_the_answer(tmp_path: Path, api: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "output_guardrails": [{"keywords": ["secret"]}]})

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "the secret"), await turn(runner, conv, "fine")

    conv, events, fine = in_sim(None, body)
    assert kinds(events)[-4:] == ["generation_done", "guardrail_checked", "agent_finished", "turn_done"]
    assert last(events, "guardrail_checked").tripped and last(events, "guardrail_checked").stage == "output"
    assert last(events, "turn_done").output == "I can't share that answer."
    assert conv.items[1]["content"] == "I can't share that answer."
    assert not last(fine, "guardrail_checked").tripped and last(fine, "turn_done").output == "You said: fine"


WEATHER_TYPE = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}},
    "required": ["city", "temperature_c"],
}


def test_output_type_parses_and_validates(tmp_path: Path, api: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "output_type": WEATHER_TYPE})
    script = {
        "turns": [
            {"match": "good", "reply": ['{"city": "Paris", "temperature_c": 21.5}']},
            {"match": "bad", "reply": ['{"city": "Paris", "temperature_c": "warm"}']},
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        good = await turn(runner, conv, "good")
        items = list(conv.items)
        bad = await turn(runner, conv, "bad")
        return conv, items, good, bad, sim.requests[0]

    conv, items, good, bad, first_request = in_sim(script, body)
    assert last(good, "turn_done").output == {"city": "Paris", "temperature_c": 21.5}
    assert "json_schema" in json.dumps(first_request)
    done = last(bad, "turn_done")
    assert done.status == "error"
    assert done.error == "the answer does not match output_type: $.temperature_c: expected number, got string"
    assert last(bad, "error").message == done.error
    assert last(bad, "agent_finished").status == "error"
    assert conv.items == items and conv.turns == 1  # the failed turn left no trace


def test_max_turns(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(
        tmp_path,
        api,
        {"name": "helper", "max_turns": 5, "tools": [{"python": f"{tools_module}:get_weather"}]},
    )
    call = {"tool_call": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    script = {"turns": [{"match": ".*", "reply": [call, call, call, "finally"]}]}

    async def body(sim, max_turns):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim, max_turns=max_turns)
        conv = runner.new_conversation()
        return conv, await turn(runner, conv, "loop"), len(sim.requests)

    conv, events, requests = in_sim(script, lambda sim: body(sim, 2))
    done = last(events, "turn_done")
    assert done.status == "error"
    assert done.error == "stopped after 2 model turns (max_turns); raise it with --max-turns"
    assert last(events, "error").message == done.error and requests == 2
    assert conv.items == [] and conv.turns == 0
    # without the override the agent's own max_turns (5) applies and the answer arrives
    conv, events, requests = in_sim(script, lambda sim: body(sim, None))
    assert last(events, "turn_done").output == "finally" and requests == 4


def test_503_then_success(tmp_path: Path, api: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "provider": {"max_retries": 2}})

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        return await turn(runner, runner.new_conversation(), "hi")

    events = in_sim({"faults": [{"status": 503, "times": 1}]}, body)
    assert last(events, "turn_done").status == "ok"
    assert last(events, "turn_done").output == "You said: hi"
    assert not [e for e in events if e.type == "error"]


def test_mid_stream_disconnect_restores_history(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "tools": [{"python": f"{tools_module}:get_weather"}]})
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    "It is {tool_output}.",
                ],
            }
        ],
        # the first request is served, the second (after the tool ran) is cut mid-stream
        "faults": [{"latency_ms": 0}, {"disconnect_after_events": 2}],
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = Conversation(
            items=[
                {"type": "message", "role": "user", "content": "earlier"},
                {"type": "message", "role": "assistant", "content": "ok"},
            ],
            agent="helper",
        )
        before = json.loads(json.dumps(conv.items))
        failed = await turn(runner, conv, "weather?")
        restored = json.loads(json.dumps(conv.items))
        retry = await turn(runner, conv, "weather?")
        return sim.base_url, before, restored, failed, retry, conv

    url, before, restored, failed, retry, conv = in_sim(script, body)
    message = f"the connection to {url} dropped mid-answer"
    assert kinds(failed)[-4:] == ["generation_done", "error", "agent_finished", "turn_done"]
    assert last(failed, "generation_done").status == "error"
    error = last(failed, "error")
    assert (error.kind, error.message) == ("model", message)
    assert (last(failed, "turn_done").status, last(failed, "turn_done").error) == ("error", message)
    assert restored == before  # no dangling function_call, no half answer
    assert last(retry, "turn_done").output == "It is sunny in Paris."
    assert [i.get("role") or i["type"] for i in conv.items] == [
        "user",
        "assistant",
        "user",
        "function_call",
        "function_call_output",
        "assistant",
    ]
    assert conv.turns == 1


def test_approval_refused_and_granted(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(
        tmp_path,
        api,
        {"name": "helper", "tools": [{"python": f"{tools_module}:get_weather", "approve": True}]},
    )
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Rome"}}},
                    "Result: {tool_output}",
                ],
            }
        ]
    }
    asked: list[tuple[str, str]] = []

    async def yes(name: str, args: str) -> bool:
        asked.append((name, json.loads(args)["city"]))
        return True

    async def body(sim, approver):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim, approver=approver)
        return await turn(runner, runner.new_conversation(), "x")

    refused = in_sim(script, lambda sim: body(sim, None))
    finished = last(refused, "tool_call_finished")
    assert (finished.approved, finished.output) == (False, "the user did not approve running get_weather")
    assert last(refused, "turn_done").output == "Result: the user did not approve running get_weather"
    granted = in_sim(script, lambda sim: body(sim, yes))
    assert last(granted, "tool_call_finished").approved is True
    assert last(granted, "turn_done").output == "Result: sunny in Rome" and asked == [("get_weather", "Rome")]


def test_cancellation_restores_history_and_propagates(tmp_path: Path, api: str, tools_module: str) -> None:
    spec = spec_for(tmp_path, api, {"name": "helper", "tools": [{"python": f"{tools_module}:wait"}]})
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    {"tool_call": {"name": "wait", "arguments": {"label": "x", "seconds": 30}}},
                    "done",
                ],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim)
        conv = runner.new_conversation()
        seen: list[str] = []

        async def consume() -> None:
            async for event in runner.run_turn(conv, "go"):
                seen.append(event.type)

        task = asyncio.create_task(consume())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if "tool_call_started" in seen:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return conv, seen

    conv, seen = in_sim(script, body)
    assert "tool_call_started" in seen and "turn_done" not in seen
    assert conv.items == [] and conv.turns == 0


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
