"""The voice renderers: plain lines for pipes, the Rich live view on a terminal."""

from __future__ import annotations

import io

from agentcli import events as ev
from agentcli.cli.voice_view import PlainVoiceRenderer, VoiceView, latency_line, meter_bar

TURN = [
    ev.SessionStarted(kind="voice", agent="helper"),
    ev.StateChanged(state="hearing"),
    ev.TranscriptDelta(role="user", delta="what is "),
    ev.TranscriptDelta(role="user", delta="the weather"),
    ev.TranscriptDone(role="user", text="what is the weather"),
    ev.StateChanged(state="thinking"),
    ev.TurnStarted(turn=1, input="what is the weather", agent="helper"),
    ev.ToolCallStarted(agent="helper", call_id="c1", name="get_weather", arguments='{"city": "Paris"}'),
    ev.TextDelta(agent="helper", delta="It is **sunny**. "),
    ev.SpeechDone(text="It is sunny.", chars=12, audio_ms=900),
    ev.TextDelta(agent="helper", delta="Take a hat."),
    ev.Interrupted(heard_ms=1234, heard_text="It is **sunny**."),
    ev.TurnLatency(marks={"end_of_speech": 0, "transcript_final": 80, "first_token": 150,
                          "first_audio_byte": 210, "first_sample_played": 230}),
]


def test_plain_renderer_lines() -> None:
    out, err = io.StringIO(), io.StringIO()
    render = PlainVoiceRenderer(out=out, err=err)
    for e in TURN:
        render(e)
    assert out.getvalue() == "It is **sunny**. Take a hat.\n"
    lines = err.getvalue().splitlines()
    assert "you: what is the weather" in lines
    assert any("get_weather" in line for line in lines)
    assert "· interrupted after 1234 ms heard" in lines
    assert lines[-1] == "· latency: transcript 80 · token 150 · audio byte 210 · played 230 ms"


def test_plain_renderer_quiet_keeps_only_the_answer() -> None:
    out, err = io.StringIO(), io.StringIO()
    render = PlainVoiceRenderer(out=out, err=err, quiet=True)
    for e in TURN:
        render(e)
    assert out.getvalue().startswith("It is **sunny**.")
    assert err.getvalue() == ""


def test_plain_renderer_realtime_assistant_transcript() -> None:
    out = io.StringIO()
    render = PlainVoiceRenderer(out=out, err=io.StringIO())
    for e in [ev.TranscriptDelta(role="assistant", delta="Hello "), ev.TranscriptDelta(role="assistant", delta="you"),
              ev.TranscriptDone(role="assistant", text="Hello you")]:
        render(e)
    assert out.getvalue() == "Hello you\n"


def test_rich_view_shows_the_turn() -> None:
    from rich.console import Console

    buf = io.StringIO()
    view = VoiceView(console=Console(file=buf, force_terminal=True, width=100, color_system=None))
    view(TURN[0])
    for e in TURN[1:6]:
        view(e)
    assert view.state == "thinking" and view.user == "what is the weather"
    assert "thinking" in str(view._render().renderables[0])
    for e in TURN[6:10]:
        view(e)
    assert view.assistant == "It is sunny."
    for e in TURN[10:]:
        view(e)
    view.close()
    text = buf.getvalue()
    assert "you: what is the weather" in text
    assert "get_weather" in text
    assert "interrupted after 1234 ms heard" in text
    assert "latency: transcript 80" in text


def test_helpers() -> None:
    assert meter_bar(-60.0, 10) == "▯" * 10 and meter_bar(0.0, 10) == "▮" * 10
    assert latency_line({}) == "latency: -"
