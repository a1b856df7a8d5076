"""The real `agent voice SPEC --realtime` command in live sessions on the PulseAudio virtual microphone and
speaker: a spoken answer, a tool call, a handoff, barge-in, a dropped connection, push-to-talk through a
pty, Ctrl-C. Every run's wire traffic is checked as in test_e2e.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, run_agent
from tests.ptydriver import PtyProcess
from tests.pulse import PulseRig
from tests.realtime.e2e import (
    ANSWER,
    LONG_AH,
    QUESTION,
    SPEC,
    Live,
    check_wire,
    played_until_cut,
    push_to_talk_turns,
    write_script,
)
from tests.voice.e2e import espeak_wav, sound_span

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.mark.audio
def test_spoken_question_spoken_answer(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    live = Live(pulse_rig, tmp_path, {"hear": [QUESTION], "turns": [{"match": "weather", "reply": [ANSWER]}]})
    try:
        live.say(question_wav)
        done = live.proc.wait_event("turn_done", timeout=30)
        latency = live.proc.wait_event("turn_latency", timeout=30)
        code, speaker = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    assert done["output"] == ANSWER and done["status"] == "ok"
    assert latency["marks"]["first_sample_played"] >= latency["marks"]["first_audio_byte"] >= 0
    from agentcli.sim.speech import synthesize_pcm

    expected = len(synthesize_pcm(ANSWER, "cedar", 1.0)) / 48000
    span = sound_span(speaker)
    assert span is not None, "nothing came out of the virtual speaker"
    assert abs((span[1] - span[0]) - expected) < 0.3, (span, expected)
    check_wire(wire_log)


@pytest.mark.audio
def test_tool_call_by_voice(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    script = {
        "hear": [QUESTION],
        "turns": [
            {
                "match": "weather",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"text": "Here: {tool_output}"},
                ],
            }
        ],
    }
    live = Live(pulse_rig, tmp_path, script)
    try:
        live.say(question_wav)
        done = live.proc.wait_event("turn_done", timeout=30)
        code, speaker = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    assert done["output"] == "Here: Paris: sunny, 21°C"
    finished = live.proc.of("tool_call_finished")
    assert [(f["name"], f["output"]) for f in finished] == [("get_weather", "Paris: sunny, 21°C")]
    assert sound_span(speaker) is not None
    sent, _ = check_wire(wire_log)
    assert [e["item"]["type"] for e in sent if e["type"] == "conversation.item.create"] == ["function_call_output"]


@pytest.mark.audio
def test_handoff_by_voice(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    script = {
        "hear": [QUESTION],
        "turns": [
            {"reply": [{"tool_call": {"name": "transfer_to_billing", "arguments": {}}}, {"text": "Billing speaking."}]}
        ],
    }
    live = Live(pulse_rig, tmp_path, script, "--session", "handoff")
    try:
        live.say(question_wav)
        done = live.proc.wait_event("turn_done", timeout=30)
        code, _ = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    assert (done["output"], done["agent"]) == ("Billing speaking.", "billing")
    assert [(h["from_agent"], h["to_agent"]) for h in live.proc.of("handoff")] == [("front", "billing")]
    sent, _ = check_wire(wire_log)
    updates = [e["session"] for e in sent if e["type"] == "session.update"]
    assert updates[-1]["instructions"].startswith("You handle billing") and "audio" not in updates[-1]
    assert SessionStore().load("handoff").agent == "billing"


@pytest.mark.audio
def test_barge_in_truncates_to_what_the_speaker_played(
    pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path
) -> None:
    stop_wav = espeak_wav(tmp_path / "stop.wav", "stop please")
    script = {"hear": [QUESTION, "stop please"], "turns": [{"match": "stop", "reply": ["Okay."]}, {"reply": [LONG_AH]}]}
    # --headphones: the virtual devices have no acoustic echo, and the echo guard would (rightly) take a
    # voice as loud as the playback for the playback itself
    live = Live(pulse_rig, tmp_path, script, "--session", "barge", "--headphones")
    try:
        live.say(question_wav)
        live.proc.wait_event("state", state="speaking", timeout=30)
        time.sleep(1.0)  # let part of the answer play
        live.say(stop_wav)
        interrupted = live.proc.wait_event("interrupted", timeout=30)
        live.proc.wait_event("turn_done", status="ok", timeout=30)
        code, speaker = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    sent, received = check_wire(wire_log)
    truncate = [e for e in sent if e["type"] == "conversation.item.truncate"]
    assert truncate and truncate[0]["item_id"] == interrupted["item_id"]
    played_ms = played_until_cut(speaker, LONG_AH)
    print(f"truncate audio_end_ms={truncate[0]['audio_end_ms']} speaker played {played_ms:.1f} ms")
    assert played_ms > 300, played_ms  # part played, then cut where the truncate says:
    assert abs(truncate[0]["audio_end_ms"] - played_ms) <= 10, (truncate[0]["audio_end_ms"], played_ms)
    assert [e for e in received if e["type"] == "conversation.item.truncated"]
    trace = json.loads(run_agent("trace", "show", "latest", "--json").stdout)
    cut = [s for s in trace["spans"] if s["kind"] == "interruption"]
    assert cut and cut[0]["data"]["item_id"] == truncate[0]["item_id"]
    conv = SessionStore().load("barge")
    answer = next(i for i in conv.items if i.get("role") == "assistant")
    assert answer["_interrupted"] is True and len(answer["content"]) < len(LONG_AH)


@pytest.mark.audio
def test_dropped_connection_mid_answer(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    again_wav = espeak_wav(tmp_path / "again.wav", "and tomorrow")
    script = {
        "hear": [QUESTION, "and tomorrow"],
        "faults": [{"disconnect_after_events": 60}],
        "turns": [{"reply": ["Answer {turn} to {input}, said at some length so it drops midway."]}],
    }
    live = Live(pulse_rig, tmp_path, script, "--session", "drop", "--headphones")  # talks over the audio
    try:
        live.say(question_wav)
        live.proc.wait_event("notice", timeout=30)
        live.proc.wait_event("state", state="listening", timeout=30)
        time.sleep(0.5)
        live.say(again_wav)
        done = live.proc.wait_event("turn_done", status="ok", timeout=30)
        code, _ = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    notices = [n["message"] for n in live.proc.of("notice")]
    assert any("dropped" in m for m in notices) and any("reconnected" in m for m in notices)
    assert done["output"] == "Answer 2 to and tomorrow, said at some length so it drops midway."
    conv = SessionStore().load("drop")
    users = [i["content"] for i in conv.items if i.get("role") == "user"]
    assert users == [QUESTION, "and tomorrow"]
    check_wire(wire_log)


@pytest.mark.audio
def test_push_to_talk_through_a_pty(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"reply": ["Heard: {input}"]}]})
    env = dict(os.environ, NO_COLOR="1")
    proc = PtyProcess(
        [
            sys.executable,
            "-m",
            "agentcli",
            "voice",
            str(SPEC),
            "--realtime",
            "--ptt",
            "--sim-script",
            str(script),
            "--session",
            "ptt",
        ],
        env=env,
        cwd=str(ROOT),
    )
    try:
        push_to_talk_turns(proc, pulse_rig, question_wav)
    finally:
        proc.close()
    sent, _ = check_wire(wire_log)
    assert sent[0]["session"]["audio"]["input"]["turn_detection"] is None
    kinds = [e["type"] for e in sent]
    assert "input_audio_buffer.commit" in kinds and "response.create" in kinds
    conv = SessionStore().load("ptt")
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "typed words"]


@pytest.mark.audio
def test_ctrl_c_ends_cleanly(pulse_rig: PulseRig, tmp_path: Path, wire_log: Path) -> None:
    live = Live(pulse_rig, tmp_path, {"turns": [{"reply": ["Hi."]}]})
    try:
        live.proc.proc.send_signal(signal.SIGINT)
        code = live.proc.proc.wait(timeout=15)
        time.sleep(0.2)
    finally:
        live.close()
    assert code == 130
    ended = live.proc.of("session_ended")
    assert ended and ended[0]["status"] == "interrupted"
    assert "Traceback" not in live.proc.stderr
