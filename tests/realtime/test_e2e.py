"""The real `agent voice SPEC --realtime` command against the simulator: file mode and --text-only with no
devices, then live sessions on the PulseAudio virtual microphone and speaker (spoken answer, tool call,
handoff, barge-in, a dropped connection, push-to-talk through a pty, Ctrl-C).

Every run logs its wire traffic (AGENT_REALTIME_LOG) and every event the toolkit sent is checked against
the openai package's realtime client-event types (and every event it received against the server types).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentcli.audio.wavfile import load_wav
from agentcli.realtime.protocol import validate_client_event, validate_server_event
from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, run_agent
from tests.ptydriver import PtyProcess
from tests.pulse import PulseRig
from tests.turn_ids import check_turn_ids
from tests.voice.e2e import VoiceProcess, espeak_wav, sound_span

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SPEC = Path(__file__).parent / "specs" / "realtime.yaml"
QUESTION = "what is the weather in Paris"
ANSWER = "It is sunny in Paris today."
LONG_AH = "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaah"


def write_script(path: Path, script: dict[str, Any]) -> Path:
    path.write_text(json.dumps(script))  # JSON is YAML
    return path


def check_wire(log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every sent event validates as a client event, every received one as a server event."""
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    sent = [r["event"] for r in records if r["dir"] == "sent"]
    received = [r["event"] for r in records if r["dir"] == "received"]
    for event in sent:
        validate_client_event(event)
    for event in received:
        validate_server_event(event)
    assert sent and received
    return sent, received


def played_until_cut(recording: Path, answer: str, voice: str = "cedar") -> float:
    """How many ms of the answer's audio the speaker played before it went silent. The answer is found
    in the recording by correlating with its audio (the sim's voice, made again here); being a vowel
    held without a pause, it only goes silent where playback was cut."""
    from agentcli.sim.speech import synthesize_pcm

    ref = np.frombuffer(synthesize_pcm(answer, voice, 1.0), "<i2").astype(np.float32) / 32768
    samples, fmt = load_wav(recording)
    assert fmt.rate == 24000
    rec = samples.reshape(-1).astype(np.float32)
    probe = ref[: fmt.rate // 4]
    corr = np.correlate(rec, probe, mode="valid")
    start = int(np.argmax(corr))
    window = fmt.rate // 50  # 20 ms of digital silence marks the cut
    quiet = np.abs(rec[start:]) < 0.01
    run = np.convolve(quiet.astype(np.int32), np.ones(window, np.int32), mode="valid")
    end = int(np.flatnonzero(run == window)[0])
    return end * 1000 / fmt.rate


@pytest.fixture
def wire_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "wire.jsonl"
    monkeypatch.setenv("AGENT_REALTIME_LOG", str(log))
    return log


@pytest.fixture
def question_wav(tmp_path: Path) -> Path:
    return espeak_wav(tmp_path / "question.wav", QUESTION)


# --- no devices -------------------------------------------------------------------------------------


def test_file_mode(tmp_path: Path, question_wav: Path, wire_log: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"match": "weather", "reply": [ANSWER]}]})
    out = tmp_path / "answer.wav"
    r = run_agent(
        "voice",
        str(SPEC),
        "--realtime",
        "--sim-script",
        str(script),
        "--input",
        str(question_wav),
        "--output",
        str(out),
        "--session",
        "filemode",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ANSWER
    assert f"you: {QUESTION}" in r.stderr
    samples, fmt = load_wav(out)
    assert fmt.rate == 24000 and samples.shape[0] / fmt.rate > 1.0
    sent, _ = check_wire(wire_log)
    assert "sk-" not in wire_log.read_text()
    conv = SessionStore().load("filemode")
    assert conv is not None
    assert [(i["role"], i["content"]) for i in conv.items] == [("user", QUESTION), ("assistant", ANSWER)]


def test_file_mode_is_traced(tmp_path: Path, question_wav: Path) -> None:
    script = write_script(
        tmp_path / "s.yaml",
        {
            "hear": [QUESTION],
            "turns": [
                {
                    "reply": [
                        {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                        {"text": "Here: {tool_output}"},
                    ]
                }
            ],
        },
    )
    r = run_agent(
        "voice",
        str(SPEC),
        "--realtime",
        "--sim-script",
        str(script),
        "--input",
        str(question_wav),
        "--output",
        str(tmp_path / "out.wav"),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    shown = run_agent("trace", "show", "latest", "--json")
    assert shown.returncode == 0, shown.stderr
    trace = json.loads(shown.stdout)
    assert trace["trace"]["kind"] == "realtime"
    spans = trace["spans"]
    turn = next(s for s in spans if s["kind"] == "turn")
    children = sorted(s["kind"] for s in spans if s["parent_id"] == turn["span_id"])
    assert children == ["end_of_turn", "function", "guardrail", "realtime_response", "realtime_response",
                        "transcription", "user_speech"]
    speech = next(s for s in spans if s["kind"] == "user_speech")
    wait = next(s for s in spans if s["kind"] == "end_of_turn")
    assert speech["end"] == wait["start"] and turn["start"] <= speech["start"]
    assert wait["duration_ms"] >= 300  # the spec's 350 ms silence window, and the file is paced in real time
    response = next(s for s in spans if s["kind"] == "realtime_response")
    assert response["data"]["input_tokens"] > 0 and response["data"]["outcome"] == "completed"


@pytest.mark.parametrize("how", ["turn_detection none", "--ptt"])
def test_file_mode_with_manual_turns(tmp_path: Path, question_wav: Path, wire_log: Path, how: str) -> None:
    """Without server turn detection the whole file is one turn, committed at its end."""
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"reply": ["Heard: {input}"]}]})
    spec, extra = (SPEC.parent / "manual.yaml", []) if how.startswith("turn") else (SPEC, ["--ptt"])
    r = run_agent(
        "voice",
        str(spec),
        "--realtime",
        "--sim-script",
        str(script),
        "--input",
        str(question_wav),
        "--output",
        str(tmp_path / "out.wav"),
        *extra,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Heard: {QUESTION}"
    sent, received = check_wire(wire_log)
    assert [e["type"] for e in sent if e["type"] in ("input_audio_buffer.commit", "response.create")] == [
        "input_audio_buffer.commit",
        "response.create",
    ]
    assert not [e for e in received if e["type"] == "input_audio_buffer.speech_started"]


def test_file_mode_fast_two_turns(tmp_path: Path, wire_log: Path) -> None:
    first = load_wav(espeak_wav(tmp_path / "a.wav", "hello there"))[0]
    second = load_wav(espeak_wav(tmp_path / "b.wav", "and what about tomorrow"))[0]
    rate = 22050
    gap = np.zeros(rate, np.float32)
    from agentcli.audio.wavfile import write_wav

    both = tmp_path / "both.wav"
    write_wav(both, np.concatenate([first.reshape(-1), gap, second.reshape(-1)]), rate)
    script = write_script(
        tmp_path / "s.yaml",
        {"hear": ["hello there", "and what about tomorrow"], "turns": [{"reply": ["Turn {turn}: {input}"]}]},
    )
    r = run_agent(
        "voice",
        str(SPEC),
        "--realtime",
        "--sim-script",
        str(script),
        "--input",
        str(both),
        "--output",
        str(tmp_path / "out.wav"),
        "--fast",
        "--jsonl",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    done = [e for e in events if e["type"] == "turn_done"]
    assert [d["output"] for d in done] == ["Turn 1: hello there", "Turn 2: and what about tomorrow"]
    assert all(d["status"] == "ok" for d in done)
    assert check_turn_ids(events) == ["1", "2"]  # the speech and transcripts before each turn carry its id
    check_wire(wire_log)


def test_text_only_typed_lines(tmp_path: Path, wire_log: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"turns": [{"reply": ["Turn {turn}: {input}"]}]})
    r = run_agent(
        "voice",
        str(SPEC),
        "--realtime",
        "--text-only",
        "--sim-script",
        str(script),
        input="hello\nhow are you\n",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Turn 1: hello", "Turn 2: how are you"]
    sent, received = check_wire(wire_log)
    assert sent[0]["type"] == "session.update" and sent[0]["session"]["output_modalities"] == ["text"]
    assert not [e for e in received if e["type"] == "response.output_audio.delta"]


def test_text_only_with_output_is_a_usage_error(tmp_path: Path) -> None:
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim", "--output", str(tmp_path / "x.wav"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--text-only" in r.stderr


def test_record_saves_the_session(tmp_path: Path) -> None:
    """--record works with --realtime (tests/recording/test_realtime.py checks what it writes in detail)."""
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim", "--record", str(tmp_path),
                  "--session", "rec", input="hi\n", timeout=60)
    assert r.returncode == 0, r.stderr
    turns = json.loads((tmp_path / "rec" / "turns.json").read_text())["turns"]
    assert [(t["turn"], t["user_text"], t["status"]) for t in turns] == [(1, "hi", "ok")]


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY="sk-test-not-a-real-key")
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", input="hi\n", env=env, timeout=30)
    assert r.returncode == 1
    assert "cannot reach ws://127.0.0.1:9/v1/realtime" in r.stderr
    assert "Traceback" not in r.stderr and "sk-test" not in r.stderr


# --- live, on the PulseAudio virtual devices ---------------------------------------------------------


class Live:
    """`agent voice SPEC --realtime --jsonl` on the virtual devices, with the speaker recorded."""

    def __init__(self, rig: PulseRig, tmp_path: Path, script: dict[str, Any], *extra: str):
        self.rig = rig
        self.speaker = rig.start_speaker_recording(tmp_path / "speaker.wav")
        path = write_script(tmp_path / "script.yaml", script)
        self.proc = VoiceProcess(str(SPEC), "--realtime", "--sim-script", str(path), *extra)
        self.proc.wait_event("state", state="listening", timeout=30)

    def say(self, wav: Path) -> None:
        self.rig.speak_into_mic(wav).wait(timeout=60)

    def stop(self) -> tuple[int, Path]:
        time.sleep(0.3)
        code = self.proc.quit()
        return code, self.speaker.stop()

    def close(self) -> None:
        self.proc.kill()
        self.speaker.stop()


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
        proc.expect("Space or Enter", timeout=30)
        time.sleep(0.3)
        proc.send(" ")
        time.sleep(0.2)
        pulse_rig.speak_into_mic(question_wav).wait(timeout=60)
        time.sleep(0.2)
        proc.send(" ")
        proc.expect(f"Heard: {QUESTION}", timeout=30)
        proc.send("typed words\r")
        proc.expect("Heard: typed words", timeout=30)
        proc.send("\x04")
        assert proc.wait(timeout=20) == 0
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
