"""The realtime client (RealtimeSession) against the in-process simulator: turns, tools, handoffs,
barge-in, text and push-to-talk modes (reconnecting: test_session_reconnect.py). No devices: FileSink / a clock sink."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.audio.wavfile import load_wav
from agentcli.realtime.session import SessionOptions
from tests.realtime.harness import ClockSink, harness

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

WEATHER = {
    "hear": ["what's the weather in Paris"],
    "turns": [
        {
            "match": "weather",
            "reply": [
                {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"text": "Here it is: {tool_output}"},
            ],
        },
        {"match": ".*", "reply": [{"text": "Turn {turn}: you said {input}"}]},
    ],
}


async def test_spoken_question_gets_a_spoken_answer(tmp_path: Path) -> None:
    script = {"hear": ["hello there"], "turns": [{"match": "hello", "reply": ["Hi! How can I help you today?"]}]}
    async with harness(tmp_path, script) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.status == "ok"
        assert done.output == "Hi! How can I help you today?"
        started = h.of(ev.TurnStarted)[0]
        assert started.input == "hello there"
        user = [e for e in h.of(ev.TranscriptDone) if e.role == "user"]
        assert user[0].text == "hello there"
        assert h.of(ev.RealtimeResponseDone)[0].usage.output_tokens > 0
        assert h.of(ev.TurnLatency)[0].marks["first_audio_byte"] >= 0
        items = h.session.conversation.items
        assert [(i["role"], i["content"]) for i in items] == [
            ("user", "hello there"),
            ("assistant", "Hi! How can I help you today?"),
        ]
        assert h.saved, "the conversation is saved when a turn ends"
        sent, received = h.validate_wire()
        assert sent > 10 and received > 10
    samples, fmt = load_wav(tmp_path / "out.wav")
    assert fmt.rate == 24000 and samples.size > 24000 * 0.5  # the answer's audio was written


async def test_session_update_carries_the_spec(tmp_path: Path) -> None:
    async with harness(tmp_path, None) as h:
        update = h.sent("session.update")[0]["session"]
        assert update["type"] == "realtime"
        assert update["instructions"].startswith("You are the front desk")
        assert update["audio"]["output"]["voice"] == "cedar"
        assert update["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert update["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 350
        names = [t["name"] for t in update["tools"]]
        assert names == ["get_weather", "secret_code", "transfer_to_billing"]
        updated = await h.wait_for(lambda: h.received("session.updated"))  # the log lags the session
        assert updated[0]["session"]["audio"]["output"]["voice"] == "cedar"
        h.validate_wire()


async def test_tool_call_then_answer(tmp_path: Path) -> None:
    async with harness(tmp_path, WEATHER) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.output == "Here it is: Paris: sunny, 21°C"
        finished = h.of(ev.ToolCallFinished)
        assert [(f.name, f.output) for f in finished] == [("get_weather", "Paris: sunny, 21°C")]
        outputs = [e["item"] for e in h.sent("conversation.item.create")]
        assert outputs[0]["type"] == "function_call_output" and outputs[0]["output"] == "Paris: sunny, 21°C"
        kinds = [i["type"] for i in h.session.conversation.items]
        assert kinds == ["message", "function_call", "function_call_output", "message"]
        assert len(h.of(ev.RealtimeResponseDone)) == 2 and len(h.of(ev.TurnDone)) == 1
        h.validate_wire()


async def test_tool_approval_refused_is_told_to_the_model(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [{"tool_call": {"name": "secret_code", "arguments": {}}}, {"text": "Result: {tool_output}"}],
            }
        ]
    }

    async def refuse(name: str, arguments: str) -> bool:
        return False

    async with harness(tmp_path, script, approver=refuse) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.output == "Result: the user did not approve running secret_code"
        assert h.of(ev.ToolCallFinished)[0].approved is False


async def test_no_two_responses_overlap(tmp_path: Path) -> None:
    """Typed lines sent while an answer is in progress wait for it: response.create is never sent
    between a response.created and its response.done."""
    script = {"turns": [{"match": ".*", "reply": ["A fairly long answer so that it takes a while to speak."]}]}
    async with harness(tmp_path, script, options=SessionOptions(text_only=True), sink=None) as h:
        await h.session.send_text("one")
        await h.session.request_response()  # a second ask while the first is in flight
        await h.session.request_response()
        await h.wait_for(lambda: len(h.received("response.done")) >= 2)
        await h.session.wait_quiet(0.2)
        active = False
        for line in h.log_path.read_text().splitlines():  # the log keeps both directions in order
            rec = json.loads(line)
            kind = rec["event"].get("type")
            if rec["dir"] == "received" and kind == "response.created":
                active = True
            elif rec["dir"] == "received" and kind == "response.done":
                active = False
            elif rec["dir"] == "sent" and kind == "response.create":
                assert not active, "response.create sent while a response was active"
        assert not h.received("error"), h.received("error")


async def test_handoff_updates_the_session_and_keeps_the_voice(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [{"tool_call": {"name": "transfer_to_billing", "arguments": {}}}, {"text": "Billing here."}],
            }
        ]
    }
    async with harness(tmp_path, script) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.output == "Billing here." and done.agent == "billing"
        assert [(e.from_agent, e.to_agent) for e in h.of(ev.Handoff)] == [("front", "billing")]
        update = h.sent("session.update")[-1]["session"]
        assert update["instructions"].startswith("You handle billing")
        assert [t["name"] for t in update["tools"]] == ["get_weather"]
        assert "audio" not in update  # the voice cannot change once audio went out: it is kept
        assert h.session.conversation.agent == "billing"
        out = [i for i in h.session.conversation.items if i["type"] == "function_call_output"]
        assert out[0]["output"] == "Transferred to billing."
        h.validate_wire()


async def test_text_only_typed_lines(tmp_path: Path) -> None:
    async with harness(tmp_path, None, options=SessionOptions(text_only=True), sink=None) as h:
        assert h.sent("session.update")[0]["session"]["output_modalities"] == ["text"]
        await h.session.send_text("hello")
        first = await h.turn_done(1)
        await h.session.send_text("again")
        second = await h.turn_done(2)
        assert (first.output, second.output) == ("You said: hello", "You said: again")
        assert h.received("response.output_text.delta") and not h.received("response.output_audio.delta")
        assert [e.input for e in h.of(ev.TurnStarted)] == ["hello", "again"]
        h.validate_wire()


async def test_push_to_talk_commits_and_asks(tmp_path: Path) -> None:
    script = {"hear": ["pushed words"], "turns": [{"match": ".*", "reply": ["Heard: {input}"]}]}
    async with harness(tmp_path, script, options=SessionOptions(ptt=True)) as h:
        assert h.sent("session.update")[0]["session"]["audio"]["input"]["turn_detection"] is None
        await h.say(0.2, silence_after=0.0)  # sent before the key went down: on the timeline, not the turn
        await h.session.ptt_press()
        await h.say(0.3, silence_after=0.1)
        await h.session.ptt_release()
        done = await h.turn_done(1)
        assert done.output == "Heard: pushed words"
        [speech] = h.of(ev.UserSpeech)  # where the pushed words lie in the audio sent
        assert (speech.start_ms, speech.end_ms) == (200.0, 600.0)
        kinds = [e["type"] for e in h.wire("sent") if e["type"] != "input_audio_buffer.append"]
        assert kinds[-2:] == ["input_audio_buffer.commit", "response.create"]
        # a tap too short to send is not committed
        await h.session.ptt_press()
        await h.session.ptt_release()
        assert len(h.sent("input_audio_buffer.commit")) == 1
        assert any("too short" in n.message for n in h.of(ev.Notice))
        h.validate_wire()


async def test_manual_spec_turn_detection_none(tmp_path: Path) -> None:
    async with harness(tmp_path, None, spec="manual.yaml") as h:
        assert h.sent("session.update")[0]["session"]["audio"]["input"]["turn_detection"] is None
        assert not h.session.server_cancels


async def test_barge_in_truncates_to_what_was_heard(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    "This is a long answer that keeps going and going so that the user has time to interrupt it."
                ],
            }
        ]
    }
    sink = ClockSink()
    async with harness(tmp_path, script, sink=sink) as h:
        await h.say()
        await h.speaking()
        await asyncio.sleep(0.3)  # let 300 ms "play"
        await h.say(0.8)  # the user talks over the answer, longer than voice.interruption.min_speech_ms
        interrupted = await h.wait_for(lambda: h.of(ev.Interrupted))
        truncate = h.sent("conversation.item.truncate")
        assert len(truncate) == 1
        heard_at_flush = sink.flushes[0][1]
        assert truncate[0]["audio_end_ms"] == int(heard_at_flush)
        assert truncate[0]["audio_end_ms"] >= 250  # what played before the user spoke, no less
        assert interrupted[0].item_id == truncate[0]["item_id"]
        truncated = await h.wait_for(lambda: h.received("conversation.item.truncated"))
        assert truncated[0]["audio_end_ms"] == truncate[0]["audio_end_ms"]
        # the client decides (the server is told interrupt_response: false) and cancels what is still active
        assert h.sent("session.update")[0]["session"]["audio"]["input"]["turn_detection"]["interrupt_response"] is False
        assert h.of(ev.PlaybackPaused) and not h.of(ev.PlaybackResumed)
        first = h.of(ev.TurnDone)[0]
        assert first.interrupted and first.status == "interrupted"
        entry = next(i for i in h.session.conversation.items if i.get("_interrupted"))
        assert entry["content"] == interrupted[0].heard_text
        assert len(entry["content"]) < len(script["turns"][0]["reply"][0])
        h.validate_wire()


async def test_barge_in_clamps_to_audio_received_and_skips_finished_playback(tmp_path: Path) -> None:
    from agentcli.realtime.audio_io import OutputAudio

    class LoudSink(ClockSink):
        def heard(self, utt):  # claims more was played than was ever received
            return utt.queued * 1000 / 24000 + 500

    out = OutputAudio(LoudSink())
    import base64

    out.write("item_1", "resp_1", base64.b64encode(bytes(4800)).decode())  # 100 ms received
    cut = out.cut()
    assert cut is not None and cut.heard_ms == 100.0 and cut.received_ms == 100.0

    done = OutputAudio(ClockSink())
    done.write("item_2", "resp_2", base64.b64encode(bytes(480)).decode())  # 10 ms
    done.complete("item_2")
    await asyncio.sleep(0.03)  # all 10 ms "heard"
    assert not done.playing and done.cut() is None


async def test_output_guardrail_cuts_the_answer(tmp_path: Path) -> None:
    script = {"turns": [{"match": ".*", "reply": ["Your card is 4111111111111111 and that is all."]}]}
    async with harness(tmp_path, script) as h:
        await h.say()
        done = await h.turn_done(1)
        assert done.status == "guardrail" and done.output == "[answer withheld]"
        tripped = [g for g in h.of(ev.GuardrailChecked) if g.tripped]
        assert tripped and tripped[0].name == "no_card_numbers"
        assert h.sent("conversation.item.delete")  # the text leaves the model's context
        entry = next(i for i in h.session.conversation.items if i.get("role") == "assistant")
        assert entry["content"] == "[answer withheld]"
        h.validate_wire()


async def test_echo_guard_and_push_to_talk_gate_the_microphone() -> None:
    import numpy as np

    from agentcli.audio.echo import EchoGuard
    from agentcli.realtime.audio_io import MicPump
    from tests.realtime.harness import tone

    class Blocks:
        block_ms = 20

        def __init__(self, blocks: list[np.ndarray]):
            self.blocks = list(blocks)

        async def read(self) -> np.ndarray | None:
            return self.blocks.pop(0) if self.blocks else None

    voice = tone(0.02, amplitude=0.1)
    sent: list[bytes] = []

    async def send(pcm: bytes) -> None:
        sent.append(pcm)

    # while the assistant plays as loud as the voice, the block is taken for echo: silence goes up instead
    pump = MicPump(Blocks([voice, voice]), send, echo_guard=EchoGuard(3.0), playback_energy=lambda: 0.07)
    await pump.run()
    assert len(sent) == 2 and not any(np.frombuffer(p, "<i2").any() for p in sent) and pump.echo_blocks == 2
    # headphones: no guard; a loud voice passes
    sent.clear()
    await MicPump(Blocks([voice]), send, echo_guard=EchoGuard(3.0, headphones=True), playback_energy=lambda: 0.07).run()
    assert np.frombuffer(sent[0], "<i2").any()
    # push-to-talk released: nothing goes up at all
    sent.clear()
    await MicPump(Blocks([voice, voice]), send, gate=lambda: False).run()
    assert sent == []

