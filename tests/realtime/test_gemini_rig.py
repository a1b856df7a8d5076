"""The real `agent voice SPEC --realtime` command with a Gemini spec, against the simulator's Gemini Live
endpoint: barge-in, a goAway resumed with the session's handle, push-to-talk through a pty, speech over a
running tool (the server takes the call back) live on the PulseAudio virtual devices; with no devices, a
goAway and a drop with typed lines, and speech over a running tool in file mode. Every logged message both
ways validates against google-genai's types (tests/realtime/test_gemini_e2e.py has file mode, a tool call,
--text-only and a spoken turn)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, run_agent
from tests.ptydriver import PtyProcess
from tests.realtime import e2e
from tests.realtime.e2e import LONG_AH, played_until_cut, push_to_talk_turns
from tests.realtime.gemini_harness import wire_records
from tests.realtime.test_gemini_e2e import QUESTION, SPEC, check_wire, write_script
from tests.voice.e2e import espeak_wav

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

VOICE = "Kore"  # the spec's Gemini voice: the sim speaks with it
# a vowel held without a pause (where the speaker goes silent is where playback was cut), then a second
# word: the sim spreads the words' transcription over the audio, so the first word's text is out by the
# middle of the answer (one word alone would come with the last chunk)
HELD = LONG_AH + " oh"


class Live(e2e.Live):
    """The realtime rig session, with the Gemini spec."""

    def __init__(self, rig: Any, tmp_path: Path, script: dict[str, Any], *extra: str):
        super().__init__(rig, tmp_path, script, *extra, spec=SPEC)


def setups_and_handles(log: Path) -> list[tuple[dict[str, Any], str | None]]:
    """Each `setup` sent, with the last resumption handle the server had given before it."""
    out, handle = [], None
    for record in wire_records(log):
        message = record["event"]
        if record["dir"] == "received" and "sessionResumptionUpdate" in message:
            handle = message["sessionResumptionUpdate"]["newHandle"]
        elif record["dir"] == "sent" and "setup" in message:
            out.append((message["setup"], handle))
    return out


@pytest.mark.audio
def test_barge_in_keeps_what_the_speaker_played(
    pulse_rig: Any, tmp_path: Path, wire_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speech over the answer: the server says `interrupted`, playback stops there, and the history (the
    conversation store) keeps only the part the speaker played. Gemini has no truncate: nothing is sent
    for it."""
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")  # the answer is still coming when the user talks
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    stop_wav = espeak_wav(tmp_path / "stop.wav", "stop please")
    script = {"hear": [QUESTION, "stop please"], "turns": [{"match": "stop", "reply": ["Okay."]}, {"reply": [HELD]}]}
    # --headphones: the virtual devices have no acoustic echo, and the echo guard would (rightly) take a
    # voice as loud as the playback for the playback itself
    live = Live(pulse_rig, tmp_path, script, "--session", "gbarge", "--headphones")
    try:
        live.say(question)
        live.proc.wait_event("state", state="speaking", timeout=30)
        time.sleep(2.5)  # let part of the answer play (its first word's transcription is out at ~2 s)
        live.say(stop_wav)
        interrupted = live.proc.wait_event("interrupted", timeout=30)
        second = live.proc.wait_event("turn_done", status="ok", timeout=30)
        code, speaker = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    first = live.proc.of("turn_done")[0]
    assert (first["status"], first["interrupted"]) == ("interrupted", True)
    assert second["output"] == "Okay."
    sent, received = check_wire(wire_log)
    assert [m for m in received if m.get("serverContent", {}).get("interrupted")]
    played_ms = played_until_cut(speaker, HELD, VOICE)
    print(f"interrupted heard_ms={interrupted['heard_ms']} speaker played {played_ms:.1f} ms")
    assert played_ms > 300, played_ms  # part played, then cut where the session says it was:
    assert abs(interrupted["heard_ms"] - played_ms) <= 10, (interrupted["heard_ms"], played_ms)
    conv = SessionStore().load("gbarge")
    assert conv is not None
    answer = next(i for i in conv.items if i.get("role") == "assistant")
    assert answer["_interrupted"] is True and answer["content"] == interrupted["heard_text"]
    assert 0 < len(answer["content"]) < len(LONG_AH)
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "stop please"]
    trace = run_agent("trace", "show", "latest", "--json")
    assert '"interruption"' in trace.stdout


@pytest.mark.audio
def test_go_away_resumes_with_the_handle(pulse_rig: Any, tmp_path: Path, wire_log: Path) -> None:
    """The server says goAway in the middle of the first answer (its 3rd message) and closes a second
    later: the client lets the answer finish, then reconnects with the last sessionResumptionUpdate
    handle. The resumed server session still holds turn 1 (the answer says "turn 2"), and no history
    is replayed."""
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    again = espeak_wav(tmp_path / "again.wav", "and tomorrow")
    script = {
        "hear": [QUESTION, "and tomorrow"],
        "faults": [{"go_away_after_events": 3}],
        "turns": [{"reply": ["Answer {turn} to {input}."]}],
    }
    live = Live(pulse_rig, tmp_path, script, "--session", "gresume")
    try:
        live.say(question)
        first = live.proc.wait_event("turn_done", timeout=30)
        time.sleep(0.5)
        live.say(again)
        second = live.proc.wait_event("turn_done", turn=2, timeout=30)
        code, _ = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    assert (first["output"], first["status"]) == (f"Answer 1 to {QUESTION}.", "ok")
    assert (second["output"], second["status"]) == ("Answer 2 to and tomorrow.", "ok")
    sent, received = check_wire(wire_log)
    assert [m for m in received if "goAway" in m]
    (first_setup, _), (second_setup, handle) = setups_and_handles(wire_log)
    assert handle is not None and first_setup["sessionResumption"] == {}
    assert second_setup["sessionResumption"] == {"handle": handle}
    assert not [m for m in sent if len(m.get("clientContent", {}).get("turns") or []) > 1]  # no replay
    assert not [n for n in live.proc.of("notice") if "dropped" in n["message"]]
    conv = SessionStore().load("gresume")
    assert conv is not None
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "and tomorrow"]


@pytest.mark.audio
def test_push_to_talk_through_a_pty(pulse_rig: Any, tmp_path: Path, wire_log: Path) -> None:
    """Space to talk, space to send, as a person at a terminal: activityStart / activityEnd around the
    audio (automatic activity detection off), then a typed line on the same session."""
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"reply": ["Heard: {input}"]}]})
    argv = [sys.executable, "-m", "agentcli", "voice", str(SPEC), "--realtime", "--ptt", "--sim-script", str(script),
            "--session", "gptt"]  # fmt: skip
    proc = PtyProcess(argv, env=dict(os.environ, NO_COLOR="1"), cwd=str(ROOT))
    try:
        push_to_talk_turns(proc, pulse_rig, question)
    finally:
        proc.close()
    sent, _ = check_wire(wire_log)
    assert sent[0]["setup"]["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": True}}
    marks = [k for m in sent for k in m.get("realtimeInput", {}) if k != "audio"]
    assert marks == ["activityStart", "activityEnd"]
    typed = [m["clientContent"] for m in sent if "clientContent" in m]
    assert {"turns": [{"role": "user", "parts": [{"text": "typed words"}]}], "turnComplete": False} in typed
    conv = SessionStore().load("gptt")
    assert conv is not None
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "typed words"]


@pytest.mark.audio
def test_speech_over_a_running_tool_on_the_virtual_devices(pulse_rig: Any, tmp_path: Path, wire_log: Path) -> None:
    """Spoken over a slow tool: the server takes the call back, the tool stops (shown cancelled, no
    toolResponse), the first turn ends interrupted and the spoken correction is answered."""
    question = espeak_wav(tmp_path / "q.wav", "search the archive")
    never = espeak_wav(tmp_path / "n.wav", "never mind")
    script = {
        "hear": ["search the archive", "never mind"],
        "turns": [
            {"match": "archive", "reply": [{"tool_call": {"name": "slow_lookup", "arguments": {"topic": "x"}}},
                                           "Found it."]},
            {"reply": ["Okay, {input}."]},
        ],
    }  # fmt: skip
    live = Live(pulse_rig, tmp_path, script)
    try:
        live.say(question)
        live.proc.wait_event("tool_call_started", timeout=30)
        live.say(never)
        done = live.proc.wait_event("turn_done", turn=2, timeout=30)
        code, _ = live.stop()
    finally:
        live.close()
    assert code == 0, live.proc.stderr
    first = live.proc.of("turn_done")[0]
    assert (first["status"], first["interrupted"]) == ("interrupted", True)
    assert (done["status"], done["output"]) == ("ok", "Okay, never mind.")
    finished = live.proc.of("tool_call_finished")
    assert [(f["name"], f["cancelled"]) for f in finished] == [("slow_lookup", True)]
    sent, received = check_wire(wire_log)
    assert [m["toolCallCancellation"] for m in received if "toolCallCancellation" in m] == [
        {"ids": [finished[0]["call_id"]]}
    ]
    assert not [m for m in sent if "toolResponse" in m]


# --- no devices ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["go_away_after_events", "disconnect_after_events"])
def test_text_only_reconnect_resumes_with_the_handle(tmp_path: Path, wire_log: Path, fault: str) -> None:
    """Typed lines through the real command; the first socket goes away after the first answer's 7
    messages (setupComplete, 3 text parts, generationComplete, turnComplete, sessionResumptionUpdate): a
    goAway, or a drop when the server next sends (the second answer). The next one resumes with the last
    handle, gets again what that handle had not seen, and the conversation goes on where it was."""
    script = write_script(tmp_path / "s.yaml", {"turns": [{"reply": ["Turn {turn}: {input}"]}], "faults": [{fault: 7}]})
    session = f"gtext{fault[:4]}"
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim-script", str(script), "--session", session,
                  input="hello\nagain\n", timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Turn 1: hello", "Turn 2: again"]
    check_wire(wire_log)
    (_, _), (second_setup, handle) = setups_and_handles(wire_log)
    assert handle is not None and second_setup["sessionResumption"] == {"handle": handle}
    if fault == "disconnect_after_events":
        assert "reconnected; the server resumed the session" in r.stderr
    conv = SessionStore().load(session)
    assert conv is not None
    assert [(i["role"], i["content"]) for i in conv.items] == [
        ("user", "hello"), ("assistant", "Turn 1: hello"), ("user", "again"), ("assistant", "Turn 2: again")
    ]  # fmt: skip


def test_speech_over_a_running_tool_takes_the_call_back(tmp_path: Path, wire_log: Path) -> None:
    """File mode, paced in real time: the second question comes while the first one's slow tool runs.
    The server takes the call back (toolCallCancellation): the call shows and is traced as cancelled,
    no toolResponse goes, the first turn ends interrupted, and the second question is answered."""
    from agentcli.audio.wavfile import load_wav, write_wav

    first = load_wav(espeak_wav(tmp_path / "a.wav", "search the archive"))[0]
    second = load_wav(espeak_wav(tmp_path / "b.wav", "never mind"))[0]
    both = tmp_path / "both.wav"
    write_wav(both, np.concatenate([first.reshape(-1), np.zeros(2 * 22050, np.float32), second.reshape(-1)]), 22050)
    script = write_script(tmp_path / "s.yaml", {
        "hear": ["search the archive", "never mind"],
        "turns": [
            {"match": "archive", "reply": [{"tool_call": {"name": "slow_lookup", "arguments": {"topic": "x"}}},
                                           "Found it."]},
            {"reply": ["Okay, {input}."]},
        ],
    })  # fmt: skip
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(both),
                  "--output", str(tmp_path / "out.wav"), "--jsonl", timeout=90)  # fmt: skip
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    done = [e for e in events if e["type"] == "turn_done"]
    assert [(d["status"], d["output"]) for d in done] == [("interrupted", ""), ("ok", "Okay, never mind.")]
    finished = [e for e in events if e["type"] == "tool_call_finished"]
    assert [(f["name"], f["cancelled"], f["output"]) for f in finished] == [("slow_lookup", True, "")]
    sent, received = check_wire(wire_log)
    call_id = finished[0]["call_id"]
    assert [m["toolCallCancellation"] for m in received if "toolCallCancellation" in m] == [{"ids": [call_id]}]
    assert not [m for m in sent if "toolResponse" in m]
    trace = json.loads(run_agent("trace", "show", "latest", "--json").stdout)
    span = next(s for s in trace["spans"] if s["kind"] == "function")
    assert (span["name"], span["status"]) == ("slow_lookup", "interrupted") and "cancelled" in span["error"]
