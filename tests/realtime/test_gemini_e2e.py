"""Gemini Live from the outside: Google's own client (google-genai) against `agent sim serve`, and the
real `agent voice SPEC --realtime` command with a Gemini spec against the simulator (file mode, a tool
call, --text-only typed lines, --ptt), every logged message both ways checked against google-genai's
types; the spec's Gemini settings; the missing key as one line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcli.audio.wavfile import load_wav
from agentcli.realtime.gemini_wire import gemini_url, validate_message
from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, agent_env, run_agent
from tests.realtime.gemini_harness import wire_records
from tests.voice.e2e import espeak_wav

SPEC = Path(__file__).parent / "specs" / "gemini.yaml"
QUESTION = "what is the weather in Paris"
ANSWER = "It is sunny in Paris today."


def write_script(path: Path, script: dict[str, Any]) -> Path:
    path.write_text(json.dumps(script))
    return path


def check_wire(log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records = wire_records(log)
    sent = [r["event"] for r in records if r["dir"] == "sent"]
    received = [r["event"] for r in records if r["dir"] == "received"]
    for message in sent:
        validate_message(message, "client")
    for message in received:
        validate_message(message, "server")
    assert sent and received
    return sent, received


# --- Google's client against `agent sim serve` -------------------------------------------------------


def _google_turn(port: int) -> tuple[int, str, list[str]]:
    from google import genai
    from google.genai import types

    async def turn() -> tuple[int, str, list[str]]:
        client = genai.Client(api_key="sim", http_options={"base_url": f"http://127.0.0.1:{port}"})
        # the SDK always dials wss://; the simulator speaks plain ws on loopback
        api: Any = client.aio.live._api_client
        api._websocket_base_url = lambda http_options=None: f"ws://127.0.0.1:{port}"
        api._websocket_ssl_ctx = {}
        config = types.LiveConnectConfig(
            response_modalities=["AUDIO"],
            output_audio_transcription=types.AudioTranscriptionConfig(),
            session_resumption=types.SessionResumptionConfig(),
            realtime_input_config=types.RealtimeInputConfig(
                automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=300)
            ),
        )
        audio, said, kinds = 0, "", []
        async with client.aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as session:
            content = types.Content(role="user", parts=[types.Part(text="hello there")])
            await session.send_client_content(turns=content, turn_complete=True)  # sent as snake_case
            if session.setup_complete is not None:
                kinds.append("setup_complete")
            while "session_resumption_update" not in kinds:  # receive() ends at each turnComplete
                async for message in session.receive():
                    kinds += list(message.model_dump(exclude_none=True))
                    if message.data:
                        audio += len(message.data)
                    content_ = message.server_content
                    if content_ and content_.output_transcription and content_.output_transcription.text:
                        said += content_.output_transcription.text
                    if message.session_resumption_update is not None:
                        break
        return audio, said, kinds

    return asyncio.run(asyncio.wait_for(turn(), 60))  # bounds a hang, not a speed


@pytest.mark.e2e
def test_google_genai_client_completes_a_turn_against_sim_serve(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"turns": [{"match": "hello", "reply": ["Hi there, friend."]}]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcli", "sim", "serve", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        port = int(base.rsplit(":", 1)[1].split("/", 1)[0])
        audio, said, kinds = _google_turn(port)
        assert said == "Hi there, friend."
        assert audio > 24000  # more than half a second of 24 kHz pcm16
        assert {"setup_complete", "server_content", "usage_metadata", "session_resumption_update"} <= set(kinds)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


# --- agent voice SPEC --realtime with a Gemini spec ------------------------------------------------


@pytest.mark.e2e
def test_file_mode(tmp_path: Path, wire_log: Path) -> None:
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"match": "weather", "reply": [ANSWER]}]})
    out = tmp_path / "a.wav"
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(question),
                  "--output", str(out), "--session", "geminifile", "--record", str(tmp_path / "rec"),
                  timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ANSWER
    assert f"you: {QUESTION}" in r.stderr
    samples, fmt = load_wav(out)
    assert fmt.rate == 24000 and samples.shape[0] / fmt.rate > 1.0
    sent, received = check_wire(wire_log)
    assert "setup" in sent[0] and "setupComplete" in received[0]
    inputs = [m["realtimeInput"] for m in sent if "realtimeInput" in m]
    assert inputs and all(i["audio"]["mimeType"] == "audio/pcm;rate=16000" for i in inputs)
    assert '"<' in wire_log.read_text() and "bytes of audio>" in wire_log.read_text()  # audio elided
    recorded = {p.name for p in (tmp_path / "rec").rglob("*")}
    assert {"user.wav", "turn-001-assistant.wav", "turns.json"} <= recorded
    conv = SessionStore().load("geminifile")
    assert conv is not None
    assert [(i["role"], i["content"]) for i in conv.items] == [("user", QUESTION), ("assistant", ANSWER)]


@pytest.mark.e2e
def test_file_mode_tool_call(tmp_path: Path, wire_log: Path) -> None:
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", {
        "hear": [QUESTION],
        "turns": [{"reply": [{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                             "Here: {tool_output}"]}],
    })  # fmt: skip
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(question),
                  "--output", str(tmp_path / "a.wav"), timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Here: Paris: sunny, 21°C"
    sent, received = check_wire(wire_log)
    assert any("toolCall" in m for m in received)
    shown = run_agent("trace", "show", "latest", "--json")
    assert shown.returncode == 0, shown.stderr
    spans = json.loads(shown.stdout)["spans"]
    assert [s["kind"] for s in spans if s["kind"] in ("function", "realtime_response")].count("realtime_response") == 2
    assert any(s["kind"] == "function" and s["name"].endswith("get_weather") for s in spans)
    response = {"id": "call_t1r0c0", "name": "get_weather", "response": {"output": "Paris: sunny, 21°C"}}
    assert [m["toolResponse"] for m in sent if "toolResponse" in m] == [{"functionResponses": [response]}]


@pytest.mark.e2e
def test_file_mode_push_to_talk(tmp_path: Path, wire_log: Path) -> None:
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"reply": ["Heard: {input}"]}]})
    r = run_agent("voice", str(SPEC), "--realtime", "--ptt", "--sim-script", str(script), "--input", str(question),
                  "--output", str(tmp_path / "a.wav"), timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Heard: {QUESTION}"
    sent, _ = check_wire(wire_log)
    assert sent[0]["setup"]["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": True}}
    marks = [k for m in sent for k in m.get("realtimeInput", {}) if k != "audio"]
    assert marks == ["activityStart", "activityEnd"]


@pytest.mark.e2e
def test_text_only_typed_lines(tmp_path: Path, wire_log: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"turns": [{"reply": ["Turn {turn}: {input}"]}]})
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim-script", str(script),
                  input="hello\nagain\n", timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Turn 1: hello", "Turn 2: again"]
    sent, _ = check_wire(wire_log)
    assert sent[0]["setup"]["generationConfig"] == {"responseModalities": ["TEXT"]}


def test_missing_key_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in agent_env().items() if k != "GEMINI_API_KEY"}
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", input="hi\n", env=env)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.endswith("GEMINI_API_KEY is not set: export GEMINI_API_KEY=... (or use --sim)")
    assert "Traceback" not in r.stderr


def test_gemini_block_needs_the_gemini_provider(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("name: a\nrealtime:\n  gemini:\n    voice: Puck\n")
    r = run_agent("spec", "validate", str(spec))
    assert r.returncode == 2 and "only read with `provider: gemini`" in r.stderr
    bad = tmp_path / "b.yaml"
    bad.write_text("name: b\nrealtime:\n  provider: gemini\n  gemini:\n    activity_detection: {disabled: maybe}\n")
    r = run_agent("spec", "validate", str(bad))
    assert r.returncode == 2 and "disabled" in r.stderr


def test_endpoint_url() -> None:
    method = "GenerativeService.BidiGenerateContent"
    assert gemini_url(None) == f"wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.{method}"
    assert gemini_url("http://127.0.0.1:9/v1", "v1alpha") == f"ws://127.0.0.1:9/ws/google.ai.generativelanguage.v1alpha.{method}"


# --- live, on the PulseAudio virtual devices ---------------------------------------------------------


def _live(rig: Any, tmp_path: Path, script: dict[str, Any]) -> tuple[Any, Any]:
    from tests.voice.e2e import VoiceProcess

    speaker = rig.start_speaker_recording(tmp_path / "speaker.wav")
    path = write_script(tmp_path / "script.yaml", script)
    proc = VoiceProcess(str(SPEC), "--realtime", "--sim-script", str(path))
    proc.wait_event("state", state="listening", timeout=30)
    return proc, speaker


@pytest.mark.audio
@pytest.mark.e2e
def test_spoken_turns_on_the_virtual_devices(pulse_rig: Any, tmp_path: Path, wire_log: Path) -> None:
    """A spoken question, a spoken answer (its length the sim voice's), then a tool call by voice."""
    import time

    from agentcli.sim.speech import synthesize_pcm
    from tests.voice.e2e import sound_span

    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = {
        "hear": [QUESTION, "and with the tool"],
        "turns": [
            {"match": "tool", "reply": [{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                                        "Here: {tool_output}"]},
            {"match": "weather", "reply": [ANSWER]},
        ],
    }  # fmt: skip
    proc, speaker = _live(pulse_rig, tmp_path, script)
    try:
        pulse_rig.speak_into_mic(question).wait(timeout=60)
        first = proc.wait_event("turn_done", timeout=30)
        time.sleep(2.5)  # the answer plays out before the next question
        pulse_rig.speak_into_mic(question).wait(timeout=60)
        second = proc.wait_event("turn_done", turn=2, timeout=30)
        time.sleep(0.3)
        code = proc.quit()
        recorded = speaker.stop()
    finally:
        proc.kill()
        speaker.stop()
    assert code == 0, proc.stderr
    assert first["output"] == ANSWER and first["status"] == "ok"
    assert second["output"] == "Here: Paris: sunny, 21°C"
    assert [f["name"] for f in proc.of("tool_call_finished")] == ["get_weather"]
    expected = len(synthesize_pcm(ANSWER, "Kore", 1.0)) / 48000
    span = sound_span(recorded)
    assert span is not None, "nothing came out of the virtual speaker"
    assert span[1] - span[0] >= expected - 0.3
    check_wire(wire_log)


@pytest.mark.e2e
def test_file_mode_ends_with_the_providers_silence(tmp_path: Path) -> None:
    """The silence after the file is long enough for Gemini's own silence_duration_ms (1.5 s here; the
    OpenAI turn_detection default would give 0.8 s, and no turn would be heard)."""
    spec = tmp_path / "slow.yaml"
    spec.write_text(SPEC.read_text().replace("silence_duration_ms: 350", "silence_duration_ms: 1500"))
    (tmp_path / "rt_tools.py").write_text((SPEC.parent / "rt_tools.py").read_text())
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"reply": ["Heard: {input}"]}]})
    r = run_agent("voice", str(spec), "--realtime", "--sim-script", str(script), "--input", str(question),
                  "--output", str(tmp_path / "a.wav"), "--fast", timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Heard: {QUESTION}"
