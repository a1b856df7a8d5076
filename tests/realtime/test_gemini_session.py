"""The realtime session on Gemini Live against the simulator's Gemini endpoint: a spoken turn, a tool
call, typed lines, push-to-talk, barge-in, a handoff, a goAway and a drop resumed with the handle. Every
message both ways validates against google-genai's Live types."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.cli.render import status_line
from agentcli.errors import ModelError
from agentcli.realtime.session import SessionOptions
from tests.realtime.gemini_harness import gemini_harness
from tests.realtime.harness import SPECS, ClockSink

pytestmark = pytest.mark.anyio

WEATHER = {"hear": ["what is the weather"], "turns": [{"match": "weather", "reply": ["It is sunny today."]}]}


async def test_spoken_turn(tmp_path: Path) -> None:
    async with gemini_harness(tmp_path, WEATHER) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.status == "ok" and done.output == "It is sunny today."
        assert [(i["role"], i["content"]) for i in h.session.conversation.items] == [
            ("user", "what is the weather"),
            ("assistant", "It is sunny today."),
        ]
        assert h.of(ev.UserSpeech) and h.of(ev.TranscriptDone)[0].text == "what is the weather"
        audio = [m["audio"] for m in h.messages("sent", "realtimeInput") if "audio" in m]
        assert audio and all(a["mimeType"] == "audio/pcm;rate=16000" for a in audio)
        # 24 kHz blocks went up as 16 kHz: 2/3 of the bytes (the resampler's delay aside)
        assert h.messages("sent", "setup")[0]["realtimeInputConfig"]["automaticActivityDetection"]["disabled"] is False
        h.validate_wire()


async def test_tool_call_then_answer(tmp_path: Path) -> None:
    script = {
        "hear": ["weather in Paris"],
        "turns": [{"reply": [{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                             "Here: {tool_output}"]}],
    }  # fmt: skip
    async with gemini_harness(tmp_path, script) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.output == "Here: Paris: sunny, 21°C"
        responses = h.messages("sent", "toolResponse")
        assert responses == [
            {"functionResponses": [{"id": "call_t1r0c0", "name": "get_weather",
                                    "response": {"output": "Paris: sunny, 21°C"}}]}
        ]  # fmt: skip
        kinds = [i.get("type", "message") for i in h.session.conversation.items]
        assert kinds == ["message", "function_call", "function_call_output", "message"]
        # the server answers a toolResponse on its own: no turnComplete was sent for it
        assert not [c for c in h.messages("sent", "clientContent") if c.get("turnComplete")]
        h.validate_wire()


async def test_typed_lines_text_only(tmp_path: Path) -> None:
    script = {"turns": [{"reply": ["Turn {turn}: {input}"]}]}
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("hello")
        assert (await h.turn_done(1)).output == "Turn 1: hello"
        await h.session.send_text("again")
        assert (await h.turn_done(2)).output == "Turn 2: again"
        assert h.messages("sent", "setup")[0]["generationConfig"]["responseModalities"] == ["TEXT"]
        contents = h.messages("sent", "clientContent")
        assert contents[0] == {"turns": [{"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": False}
        assert contents[1] == {"turnComplete": True}
        h.validate_wire()


async def test_push_to_talk_marks_the_activity(tmp_path: Path) -> None:
    async with gemini_harness(tmp_path, WEATHER, options=SessionOptions(ptt=True)) as h:
        assert h.session.manual
        await h.session.ptt_press()
        await h.say(0.4, silence_after=0.1)
        await h.session.ptt_release()
        done = await h.turn_done(1)
        assert done.output == "It is sunny today."
        inputs = h.messages("sent", "realtimeInput")
        marks = [k for m in inputs for k in m if k in ("activityStart", "activityEnd")]
        assert marks == ["activityStart", "activityEnd"]
        assert "audio" in inputs[1] and "activityEnd" in inputs[-1]
        assert h.messages("sent", "setup")[0]["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}
        h.validate_wire()


async def test_barge_in_keeps_what_was_heard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")  # the answer is still coming when the user talks
    long = "This is a long answer that keeps going and going so that the user has time to interrupt it."
    script = {"hear": ["tell me", "stop"], "turns": [{"match": "tell", "reply": [long]}, {"reply": ["Okay."]}]}
    sink = ClockSink()
    async with gemini_harness(tmp_path, script, sink=sink) as h:
        await h.say()
        await h.speaking()
        await asyncio.sleep(0.3)  # let 300 ms "play"
        await h.say(0.3)  # the user talks over the answer
        interrupted = await h.wait_for(lambda: h.of(ev.Interrupted))
        assert [m for m in h.messages("received", "serverContent") if m.get("interrupted")]
        assert sink.flushes and sink.flushes[0][1] >= 250  # playback stopped at once, after what was played
        first = await h.turn_done(1)
        assert first.interrupted and first.status == "interrupted"
        entry = next(i for i in h.session.conversation.items if i.get("_interrupted"))
        assert entry["content"] == interrupted[0].heard_text and len(entry["content"]) < len(long)
        assert (await h.turn_done(2, timeout=15)).output == "Okay."
        h.validate_wire()


async def test_handoff_reconnects_with_the_new_agent(tmp_path: Path) -> None:
    script = {
        "hear": ["billing please"],
        "turns": [{"reply": [{"tool_call": {"name": "transfer_to_billing", "arguments": {}}}, "Billing here."]}],
    }
    async with gemini_harness(tmp_path, script) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.output == "Billing here." and h.session.agent == "billing"
        setups = h.messages("sent", "setup")
        assert len(setups) == 2
        assert "billing" in setups[1]["systemInstruction"]["parts"][0]["text"]
        assert setups[1]["generationConfig"] == setups[0]["generationConfig"]  # the voice stays
        replay = h.messages("sent", "clientContent")[0]["turns"]
        assert [t["role"] for t in replay] == ["user", "model", "user"]  # question, call, its output
        h.validate_wire()


@pytest.mark.parametrize("fault", ["go_away_after_events", "disconnect_after_events"])
async def test_reconnect_resumes_with_the_handle(tmp_path: Path, fault: str) -> None:
    """The first socket goes away after the first answer's 8 messages (setupComplete, 4 text parts,
    generationComplete, turnComplete, sessionResumptionUpdate): with a goAway the client moves while idle;
    with a drop, when it next sends (the second question). The next connection resumes with the last
    handle, replays no history, and sends again only what the handle had not seen."""
    script = {
        "turns": [{"match": "weather", "reply": ["It is sunny today."]}, {"reply": ["Turn {turn}: {input}"]}],
        "faults": [{fault: 8}],
    }
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("what is the weather")
        assert (await h.turn_done(1)).output == "It is sunny today."
        handle = (await h.wait_for(lambda: h.messages("received", "sessionResumptionUpdate")))[-1]["newHandle"]
        if fault == "go_away_after_events":
            await h.wait_for(lambda: len(h.messages("sent", "setup")) == 2, timeout=10)
        await h.session.send_text("and tomorrow")
        done = await h.turn_done(2, timeout=10)
        assert done.output == "Turn 2: and tomorrow" and done.status == "ok"  # the server kept turn 1
        setups = h.messages("sent", "setup")
        assert len(setups) == 2 and setups[1]["sessionResumption"] == {"handle": handle}
        assert h.session.reconnects == (1 if fault == "disconnect_after_events" else 0)
        questions = [c["turns"][0]["parts"][0]["text"] for c in h.messages("sent", "clientContent") if c.get("turns")]
        expected = ["what is the weather", "and tomorrow"]
        if fault == "disconnect_after_events":  # lost with the socket: sent again after the resumption
            expected.append("and tomorrow")
        assert questions == expected
        # the new connection's items are new entries (its made-up ids do not collide with the first's)
        assert [(i["role"], i["content"]) for i in h.session.conversation.items] == [
            ("user", "what is the weather"), ("assistant", "It is sunny today."),
            ("user", "and tomorrow"), ("assistant", "Turn 2: and tomorrow"),
        ]  # fmt: skip
        h.validate_wire()


async def test_go_away_without_resumption_replays_the_history(tmp_path: Path) -> None:
    """No resumption (session_resumption: false): the goAway's close is a drop like any other; the new
    connection gets the conversation again as text."""
    spec = tmp_path / "noresume.yaml"
    spec.write_text((SPECS / "gemini.yaml").read_text().replace("language_code: en-US", "session_resumption: false"))
    (tmp_path / "rt_tools.py").write_text((SPECS / "rt_tools.py").read_text())
    script = {"turns": [{"reply": ["Turn {turn}: {input}"]}], "faults": [{"go_away_after_events": 6}]}
    async with gemini_harness(tmp_path, script, str(spec), sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("first")
        assert (await h.turn_done(1)).output == "Turn 1: first"
        await h.wait_for(lambda: h.session.reconnects == 1 and h.session.ready.is_set(), timeout=10)
        setups = h.messages("sent", "setup")
        assert len(setups) == 2 and all("sessionResumption" not in s for s in setups)
        replay = [c for c in h.messages("sent", "clientContent") if len(c.get("turns") or []) == 1][1:]
        assert [t["turns"][0] for t in replay] == [
            {"role": "user", "parts": [{"text": "first"}]},
            {"role": "model", "parts": [{"text": "Turn 1: first"}]},
        ]
        await h.session.send_text("second")
        assert (await h.turn_done(2, timeout=10)).output == "Turn 2: second"  # the new sim session got turn 1 back
        h.validate_wire()


async def test_the_key_stays_in_its_header(tmp_path: Path) -> None:
    key = "gm-test-key-4242"
    async with gemini_harness(tmp_path, None, sink=None, options=SessionOptions(text_only=True), key=key) as h:
        await h.session.send_text("hello")
        assert (await h.turn_done(1)).output == "You said: hello"
        assert key not in h.log_path.read_text()
        assert all(key not in repr(e) for e in h.events)


async def test_a_refused_setup_is_one_clear_error(tmp_path: Path) -> None:
    async def refuse(conn, request):  # what the API does with a bad setup: a close frame with the reason
        await conn.recv()
        await conn.close(1008, "models/nope is not found for API version v1beta")

    with pytest.raises(ModelError) as info:
        async with gemini_harness(tmp_path, None, route=refuse):
            pass
    message = str(info.value)
    assert message.startswith("the Gemini Live server refused the session:")
    assert "models/nope is not found" in message and "\n" not in message


async def test_tool_call_cancellation_stops_the_call(tmp_path: Path) -> None:
    """A line typed while a slow tool runs: the server takes the call back (toolCallCancellation), the
    call's task is cancelled, it shows as cancelled, no toolResponse goes, and the new line is answered.
    (The typed line itself ends the tool's turn as interrupted: test_typed_over_tool.py; speech over the
    call: the real command's test in test_gemini_rig.py.)"""
    import sys

    script = {
        "turns": [
            {"match": "archive", "reply": [{"tool_call": {"name": "slow_lookup", "arguments": {"topic": "{input}"}}},
                                           "Found it."]},
            {"reply": ["Turn {turn}: {input}"]},
        ],
    }  # fmt: skip
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        tools = sys.modules["rt_tools"]  # the spec's tool module, as the toolset imported it
        tools.CANCELLED.clear()
        await h.session.send_text("search the archive")
        started = await h.wait_for(lambda: h.of(ev.ToolCallStarted))
        await h.session.send_text("never mind")
        assert (await h.turn_done(2)).output == "Turn 2: never mind"
        finished = h.of(ev.ToolCallFinished)
        assert [(f.call_id, f.cancelled, f.output) for f in finished] == [(started[0].call_id, True, "")]
        assert status_line(finished[0]) == "· slow_lookup: cancelled by the model (the user interrupted)"
        assert tools.CANCELLED == ["search the archive"]  # the tool's own task was cancelled
        cancellations = h.messages("received", "toolCallCancellation")
        assert cancellations == [{"ids": [started[0].call_id]}]
        assert not h.messages("sent", "toolResponse")
        kinds = [(i.get("type", "message"), i.get("role")) for i in h.session.conversation.items]
        # the call stays in the history without an output (a replay leaves it out)
        assert kinds == [("message", "user"), ("function_call", None), ("message", "user"), ("message", "assistant")]
        h.validate_wire()


async def test_a_cancelled_call_that_finished_already_is_left_alone(tmp_path: Path) -> None:
    """A toolCallCancellation for a call whose result went back already changes nothing."""
    from agentcli.realtime.server_events import FunctionCallsCancelled

    script = {"turns": [{"reply": [{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                                   "Here: {tool_output}"]}]}  # fmt: skip
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("weather")
        assert (await h.turn_done(1)).output == "Here: Paris: sunny, 21°C"
        await h.session.handle(FunctionCallsCancelled(["call_t1r0c0"]))
        assert [f.cancelled for f in h.of(ev.ToolCallFinished)] == [False]
        assert h.session.turn is None and h.session.answers.calls is None


def test_a_call_run_takes_back_only_calls_still_running() -> None:
    """Two calls, one finished before the cancellation: only the other shows as cancelled, its own late
    end is held back, and the run goes on (the finished call's result is still to be sent). A call that
    never started (a handoff) is taken back without a finish of its own."""
    from agentcli.models.base import ModelToolCall
    from agentcli.realtime.tools import CallRun

    shown: list[ev.Event] = []
    run = CallRun([ModelToolCall("a", "get_weather", "{}"), ModelToolCall("b", "slow_lookup", "{}")], "front", 1)
    emit = run.watch(shown.append)
    emit(ev.ToolCallStarted(call_id="a", name="get_weather"))
    emit(ev.ToolCallStarted(call_id="b", name="slow_lookup"))
    emit(ev.ToolCallFinished(call_id="a", name="get_weather", output="sunny"))
    assert run.cancel(["a", "b"], shown.append) is False
    emit(ev.ToolCallFinished(call_id="b", name="slow_lookup", output="late"))
    ends = [(e.call_id, e.cancelled, e.output) for e in shown if isinstance(e, ev.ToolCallFinished)]
    assert ends == [("a", False, "sunny"), ("b", True, "")]
    assert run.cancelled == {"b"}
    before = len(shown)
    assert CallRun([ModelToolCall("c", "transfer_to_x", "{}")], "front", 1).cancel(["c"], shown.append)
    assert len(shown) == before


async def test_parallel_calls_each_get_their_response(tmp_path: Path) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": city}} for city in ("Paris", "Oslo")]
    script = {"turns": [{"reply": [{"tool_calls": calls}, "Both: {tool_output}"]}]}
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("two cities")
        assert (await h.turn_done(1)).output == "Both: Oslo: sunny, 21°C"
        ids = [r["functionResponses"][0]["id"] for r in h.messages("sent", "toolResponse")]
        assert ids == ["call_t1r0c0", "call_t1r0c1"] and not h.messages("received", "toolCallCancellation")
        assert [f.cancelled for f in h.of(ev.ToolCallFinished)] == [False, False]
        h.validate_wire()
