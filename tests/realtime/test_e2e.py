"""The real `agent voice SPEC --realtime` command against the simulator with no devices: file mode, manual
turns, --fast, --text-only, --record and an unreachable server (live sessions on the PulseAudio rig:
test_e2e_live.py).

Every run logs its wire traffic (AGENT_REALTIME_LOG) and every event the toolkit sent is checked against
the openai package's realtime client-event types (and every event it received against the server types).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio.wavfile import load_wav
from agentcli.runtime.conversations import SessionStore
from tests.conftest import run_agent
from tests.realtime.e2e import ANSWER, QUESTION, SPEC, check_wire, write_script
from tests.turn_ids import check_turn_ids
from tests.voice.e2e import espeak_wav

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

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
