"""The Runner against the simulator, for both APIs: guardrails, output types, the turn limit, retries,
a dropped stream, approvals and cancellation (the plain flow: test_runner.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentcli.runtime.conversation import Conversation

from .runner_helpers import in_sim, kinds, last, runner_for, spec_for, turn


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
