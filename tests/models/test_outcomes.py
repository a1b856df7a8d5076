"""Answers the real API gives that are not plain text: refusals, incomplete answers, reasoning items, errors
inside the stream, settings a model does not take. Driven through the Runner against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentcli.events import Event
from tests.runtime.conftest import write_module
from tests.runtime.runner_helpers import in_sim, last, runner_for, spec_for, turn


@pytest.fixture
def tools_module(tmp_path: Path) -> str:
    return write_module(tmp_path, "def get_weather(city: str) -> str:\n    return f'sunny in {city}'\n")


@pytest.fixture(params=["responses", "chat"])
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(tmp_path: Path, api: str, script: dict[str, Any], agent: dict[str, Any] | None = None,
        **config: Any) -> tuple[list[Event], list[dict[str, Any]], Any]:
    spec = spec_for(tmp_path, api, {"name": "helper", **(agent or {})})

    async def body(sim):  # type: ignore[no-untyped-def]
        runner = runner_for(spec, sim, **config)
        conv = runner.new_conversation()
        return await turn(runner, conv, "tell me"), sim.requests, conv

    return in_sim(script, body)


OUTPUT_TYPE = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_a_refusal_is_its_own_outcome(tmp_path: Path, api: str) -> None:
    script = {"turns": [{"reply": [{"refusal": "I can't help with that."}]}]}
    events, _, conv = run(tmp_path, api, script, {"output_type": OUTPUT_TYPE})
    done = last(events, "turn_done")
    assert (done.status, done.output) == ("refusal", "I can't help with that.")
    assert last(events, "error").message == "the model refused: I can't help with that."
    assert last(events, "error").kind == "refusal"
    # structured output was not attempted ("not JSON" would be the wrong story), no text was streamed as an answer
    assert not [e for e in events if e.type == "text_delta"]
    assert conv.items == []  # the conversation is as it was: the user can rephrase


def test_an_incomplete_answer_keeps_its_partial_text_and_reason(tmp_path: Path, api: str) -> None:
    script = {"turns": [{"reply": [{"text": "The first half of", "incomplete": {"reason": "max_output_tokens"}}]}]}
    events, _, _ = run(tmp_path, api, script)
    done = last(events, "turn_done")
    assert (done.status, done.output) == ("incomplete", "The first half of")
    assert done.error == "the answer is incomplete (max_output_tokens); the partial text is kept"
    assert "".join(e.delta for e in events if e.type == "text_delta") == "The first half of"


def test_an_incomplete_answer_can_be_accepted(tmp_path: Path, api: str) -> None:
    script = {"turns": [{"reply": [{"text": "Cut", "incomplete": {"reason": "content_filter"}}]}]}
    events, _, conv = run(tmp_path, api, script, accept_incomplete=True)
    assert last(events, "turn_done").status == "ok" and last(events, "turn_done").output == "Cut"
    assert last(events, "notice").message == "the answer is incomplete (content_filter): accepted as it is"
    assert conv.items[-1]["content"] == "Cut"


def test_a_failed_response_and_a_mid_stream_error_reach_the_user(tmp_path: Path, api: str) -> None:
    failed = {"turns": [{"reply": [{"failed": {"message": "The model crashed.", "code": "server_error"}}]}]}
    events, _, _ = run(tmp_path, api, failed)
    assert last(events, "turn_done").status == "error"
    assert "The model crashed." in last(events, "error").message
    mid = {"turns": [{"reply": [{"text": "Half", "error": "Error processing stream start"}]}]}
    events, _, _ = run(tmp_path, api, mid)
    assert last(events, "turn_done").status == "error"
    assert last(events, "error").message.endswith("failed mid-answer: Error processing stream start")


def test_reasoning_items_are_passed_back_with_their_calls(tmp_path: Path, tools_module: str) -> None:
    agent = {"model": "o4-mini", "tools": [{"python": f"{tools_module}:get_weather"}]}
    script = {"turns": [{"reply": [
        {"reasoning": "I should look it up.", "tool_call": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
        {"text": "It is {tool_output}."},
    ]}]}
    events, requests, conv = run(tmp_path, "responses", script, agent)
    assert last(events, "turn_done").status == "ok"
    first, second = requests
    assert first["include"] == ["reasoning.encrypted_content"] and first["store"] is False
    passed = [i for i in second["input"] if i.get("type") == "reasoning"]
    assert len(passed) == 1 and passed[0]["encrypted_content"] == "sim-encrypted:I should look it up."
    assert set(passed[0]) == {"type", "id", "summary", "encrypted_content"}  # our "_model" tag is not sent
    kinds = [i["type"] for i in second["input"]]
    assert kinds.index("reasoning") < kinds.index("function_call")  # reasoning goes before its call
    # a model that is not a reasoning model is not asked for encrypted reasoning
    _, plain, _ = run(tmp_path, "responses", {"turns": [{"reply": ["hi"]}]}, {"model": "gpt-4.1-mini"})
    assert "include" not in plain[0]


def test_settings_a_model_does_not_take_are_dropped_with_one_notice(tmp_path: Path) -> None:
    settings = {"temperature": 0.3, "top_p": 0.9, "reasoning_effort": "low"}
    events, requests, _ = run(tmp_path, "responses", {}, {"model": "gpt-4.1-mini", "model_settings": settings})
    assert "reasoning" not in requests[0] and requests[0]["temperature"] == 0.3
    notices = [e.message for e in events if e.type == "notice"]
    assert notices == ["gpt-4.1-mini is not a reasoning model and does not take reasoning_effort: "
                       "reasoning_effort not sent"]
    events, requests, _ = run(tmp_path, "chat", {}, {"model": "o3-mini", "model_settings": settings})
    assert "temperature" not in requests[0] and "top_p" not in requests[0]
    assert requests[0]["reasoning_effort"] == "low"
    assert len([e for e in events if e.type == "notice"]) == 2
    events, requests, _ = run(tmp_path, "responses", {}, {"model": "gpt-5.2", "model_settings": {
        "reasoning_effort": "xhigh"}})
    assert requests[0]["reasoning"] == {"effort": "xhigh"}
    # names we do not know (local servers) get every setting as given
    events, requests, _ = run(tmp_path, "chat", {}, {"model": "llama3.2", "model_settings": settings})
    assert (requests[0]["temperature"], requests[0]["reasoning_effort"]) == (0.3, "low")
    assert not [e for e in events if e.type == "notice"]


def test_reasoning_effort_takes_none_and_xhigh() -> None:
    from agentcli.spec.model import ModelSettings

    assert ModelSettings(reasoning_effort="none").reasoning_effort == "none"
    assert ModelSettings(reasoning_effort="xhigh").reasoning_effort == "xhigh"


@pytest.mark.e2e
def test_the_cli_exits_1_for_a_refusal_and_an_incomplete_answer(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "s.yaml"
    script.write_text('turns:\n  - match: nope\n    reply: [{refusal: "Not that."}]\n'
                      '  - match: long\n    reply: [{text: "Half of it", incomplete: {reason: max_output_tokens}}]\n')

    def chat(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agentcli", "chat", "--sim-script", str(script), *args],
                              capture_output=True, text=True, cwd=root, timeout=60)

    refused = chat("-m", "nope", "--json")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert json.loads(refused.stdout)["status"] == "refusal" and json.loads(refused.stdout)["output"] == "Not that."
    assert "the model refused: Not that." in refused.stderr
    cut = chat("-m", "long")
    assert cut.returncode == 1 and cut.stdout == "Half of it\n"  # the partial text is kept
    assert "incomplete (max_output_tokens)" in cut.stderr
    accepted = chat("-m", "long", "--accept-incomplete")
    assert accepted.returncode == 0 and accepted.stdout == "Half of it\n", accepted.stderr  # the documented flag
