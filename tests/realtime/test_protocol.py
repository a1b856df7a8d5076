"""Wire-format pieces: strict event validation, audio elision, the session config from a spec, URLs,
history replay, and the barge-in text cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcli.errors import ModelError
from agentcli.realtime.config import session_config, tool_choice, turn_detection
from agentcli.realtime.connection import EventLog, realtime_url
from agentcli.realtime.items import replayable
from agentcli.realtime.protocol import (
    ProtocolViolation,
    b64_pcm,
    elide_audio,
    validate_client_event,
    validate_server_event,
)
from agentcli.realtime.reconnect import Backoff
from agentcli.realtime.state import heard_part
from agentcli.spec.model import AgentSpec, TurnDetection


def test_strict_validation_rejects_unknown_keys_at_any_depth() -> None:
    validate_client_event({"type": "input_audio_buffer.append", "audio": "AAAA"})
    with pytest.raises(ProtocolViolation, match="input_audio_buffer.append: colour: unknown key"):
        validate_client_event({"type": "input_audio_buffer.append", "audio": "AAAA", "colour": 1})
    bad_vad = {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_ms": 5}}},
        },
    }
    with pytest.raises(ProtocolViolation, match="turn_detection.silence_ms: unknown key"):
        validate_client_event(bad_vad)
    with pytest.raises(ProtocolViolation, match="audio_end_ms"):
        validate_client_event({"type": "conversation.item.truncate", "item_id": "i", "content_index": 0})
    with pytest.raises(ProtocolViolation, match="not a realtime client event type"):
        validate_client_event({"type": "response.output_audio.delta"})
    with pytest.raises(ProtocolViolation, match="not a realtime server event type"):
        validate_server_event({"type": "response.create"})


def test_audio_is_elided_from_logs(tmp_path: Path) -> None:
    pcm = bytes(4800)
    event = {"type": "input_audio_buffer.append", "audio": b64_pcm(pcm)}
    assert elide_audio(event)["audio"] == "<4800 bytes of audio>"
    delta = {"type": "response.output_audio.delta", "delta": b64_pcm(b"12345")}
    assert elide_audio(delta)["delta"] == "<5 bytes of audio>"
    log = EventLog(str(tmp_path / "log.jsonl"))
    log.write("sent", event)
    log.close()
    record = json.loads((tmp_path / "log.jsonl").read_text())
    assert record["dir"] == "sent" and record["event"]["audio"] == "<4800 bytes of audio>"
    assert event["audio"] != record["event"]["audio"]  # the original is untouched


def _agent(**realtime: object) -> AgentSpec:
    return AgentSpec.model_validate({"name": "a", "instructions": "Be kind.", "realtime": realtime})


@pytest.mark.parametrize(
    "realtime, text_only, ptt",
    [
        ({}, False, False),
        ({"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}, False, False),
        ({"turn_detection": {"type": "server_vad", "threshold": 0.7, "idle_timeout_ms": 5000}}, False, False),
        ({"noise_reduction": "far_field", "transcription": {"model": "whisper-1", "language": "fr"}}, True, False),
        ({"transcription": None, "tool_choice": "required", "speed": 1.2}, False, True),
    ],
)
def test_session_config_validates(realtime: dict, text_only: bool, ptt: bool) -> None:
    agent = _agent(**realtime)
    session = session_config(agent, [], text_only=text_only, ptt=ptt)
    validate_client_event({"type": "session.update", "session": session})
    assert session["instructions"] == "Be kind."
    assert session["output_modalities"] == (["text"] if text_only else ["audio"])
    if ptt:
        assert session["audio"]["input"]["turn_detection"] is None


def test_turn_detection_and_tool_choice_wire_forms() -> None:
    assert turn_detection(TurnDetection(type="none")) is None
    vad = turn_detection(TurnDetection(silence_duration_ms=300, interrupt_response=False))
    assert vad == {
        "type": "server_vad",
        "silence_duration_ms": 300,
        "create_response": True,
        "interrupt_response": False,
    }
    assert tool_choice(None) == "auto" and tool_choice("required") == "required"
    assert tool_choice("get_weather") == {"type": "function", "name": "get_weather"}


def test_realtime_url_from_the_chat_base_url() -> None:
    assert (
        realtime_url("http://127.0.0.1:8080/v1", "gpt-realtime") == "ws://127.0.0.1:8080/v1/realtime?model=gpt-realtime"
    )
    assert realtime_url("https://api.openai.com/v1/", "gpt realtime") == (
        "wss://api.openai.com/v1/realtime?model=gpt%20realtime"
    )
    with pytest.raises(ModelError, match="not http"):
        realtime_url("ftp://x/v1", "m")


def test_history_replay_is_text_and_validates() -> None:
    history = [
        {"type": "message", "role": "user", "content": "weather?", "_id": "x"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call", "call_id": "c2", "name": "lost", "arguments": "{}"},  # no output: dropped
        {"type": "message", "role": "assistant", "content": "It is sunny.", "_interrupted": True},
        {"type": "message", "role": "user", "content": ""},  # nothing said: dropped
    ]
    events = [{"type": "conversation.item.create", "item": {"id": f"item_{n}", **item}}
              for n, (_, item) in enumerate(replayable(history))]  # fmt: skip
    assert [e["item"]["type"] for e in events] == ["message", "function_call", "function_call_output", "message"]
    for event in events:
        validate_client_event(event)
    assert events[-1]["item"]["content"] == [{"type": "output_text", "text": "It is sunny."}]
    assert all("_" not in k[0] for e in events for k in e["item"])
    assert replayable(history)[0][0] is history[0]  # the history's own entry, to rewrite it later


def test_backoff_grows_and_gives_up() -> None:
    backoff = Backoff(give_up_s=10)
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays[:3] == [0.1, 0.2, 0.4] and max(d for d in delays if d) <= 3.0
    assert Backoff(give_up_s=0).next_delay() is None


def test_heard_part_cuts_at_a_word() -> None:
    text = "one two three four five six"
    assert heard_part(text, 0, 1000) == ""
    assert heard_part(text, 1000, 1000) == text
    assert heard_part(text, 500, 1000) == "one two three"
    assert heard_part(text, 100, 0) == text


def test_server_events_parse_to_typed_records_each_handled_once() -> None:
    import inspect
    from typing import get_args

    from agentcli.realtime import server_events as se
    from agentcli.realtime.session import RealtimeSession

    wire = {
        "response.output_audio.delta": se.AudioDelta,
        "response.output_audio_transcript.delta": se.TextDelta,
        "response.output_text.delta": se.TextDelta,
        "response.output_audio_transcript.done": se.TextDone,
        "response.output_text.done": se.TextDone,
        "response.output_audio.done": se.AudioDone,
        "response.function_call_arguments.done": se.FunctionCallDone,
        "response.created": se.ResponseCreated,
        "response.done": se.ResponseDone,
        "conversation.item.added": se.ItemAdded,
        "input_audio_buffer.speech_started": se.SpeechStarted,
        "input_audio_buffer.speech_stopped": se.SpeechStopped,
        "input_audio_buffer.timeout_triggered": se.InputTimeout,
        "conversation.item.input_audio_transcription.delta": se.UserTranscriptDelta,
        "conversation.item.input_audio_transcription.completed": se.UserTranscriptDone,
        "conversation.item.input_audio_transcription.failed": se.UserTranscriptFailed,
        "session.created": se.SessionCreated,
        "error": se.ServerError,
        "rate_limits.updated": se.Ignored,
    }
    for kind, cls in wire.items():
        assert type(se.parse({"type": kind})) is cls, kind
    source = inspect.getsource(RealtimeSession.handle)
    for cls in get_args(se.ServerEvent):  # the one match names every record, with the wire types it stands for
        assert source.count(f"case {cls.__name__}():") == 1, cls.__name__
    for kind, cls in wire.items():
        assert cls is se.Ignored or kind in source, kind
    done = se.parse({"type": "response.done", "response": {"id": "r", "status": "failed", "status_details": {
        "type": "failed", "error": {"type": "server_error", "code": "overloaded"}}}})  # fmt: skip
    assert isinstance(done, se.ResponseDone) and done.error == "overloaded"  # no message: the code, not "failed"


def test_output_token_limit_is_the_realtime_setting_not_max_tokens() -> None:
    """model_settings.max_tokens counts text; in realtime the limit counts audio too, so a chat-sized
    limit would cut spoken answers short: only realtime.max_output_tokens is sent."""
    chat_limit = AgentSpec.model_validate({"name": "a", "model_settings": {"max_tokens": 50}})
    assert "max_output_tokens" not in session_config(chat_limit, [])
    own = AgentSpec.model_validate({"name": "a", "model_settings": {"max_tokens": 50},
                                    "realtime": {"max_output_tokens": 1500}})  # fmt: skip
    session = session_config(own, [])
    assert session["max_output_tokens"] == 1500
    validate_client_event({"type": "session.update", "session": session})


def test_sent_audio_keeps_the_recent_past_on_the_sent_timeline() -> None:
    from agentcli.realtime.state import SentAudio

    kept = SentAudio(keep_ms=100)
    for n in range(30):  # 30 blocks of 10 ms, block n filled with byte n
        kept.add(bytes([n]) * 480)
    assert len(kept.blocks) <= 11 and kept.end_ms == 300  # only the last 100 ms kept, on the whole timeline
    tail = kept.between(250, 270)  # ms 250-270 are blocks 25 and 26, wherever the buffer starts now
    assert tail == bytes([25]) * 480 + bytes([26]) * 480
    assert kept.between(0, 10) == b""  # trimmed away
