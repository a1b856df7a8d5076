"""The voice renderers (issue 13): conversation order when realtime calls a tool before the user's speech
is transcribed, spaces between spoken pieces, the answer line ended before status lines, the agent after a
handoff, and the level meter drawn only between other output."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from agentcli import events as ev
from agentcli.cli.voice_view import PlainVoiceRenderer, VoiceView, join_text

# the realtime API may call a tool before the transcript of the speech that asked for it is in
EARLY_TOOL = [
    ev.SessionStarted(kind="realtime", agent="main"),
    ev.UserSpeech(start_ms=0, end_ms=900),
    ev.ToolCallStarted(agent="main", call_id="c1", name="get_weather", arguments="{}"),
    ev.ToolCallFinished(agent="main", call_id="c1", name="get_weather", output="mild"),
    ev.TranscriptDone(role="user", text="what is the weather"),
    ev.RealtimeResponseDone(transcript=""),
    ev.TranscriptDelta(role="assistant", delta="It is mild."),
    ev.RealtimeResponseDone(transcript="It is mild."),
    ev.TurnLatency(marks={"first_audio_byte": 210}),
    ev.TurnDone(agent="main", output="It is mild."),
]


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=False, width=100, highlight=False), buf


def test_plain_the_tool_line_follows_the_you_line_it_answers_and_the_answer_line_ends():
    out, err = io.StringIO(), io.StringIO()
    render = PlainVoiceRenderer(out=out, err=err)
    for e in EARLY_TOOL:
        render(e)
    lines = err.getvalue().splitlines()
    you = lines.index("you: what is the weather")
    tool = next(i for i, line in enumerate(lines) if "get_weather" in line)
    assert you < tool
    assert out.getvalue() == "It is mild.\n"  # ended with its response, before the latency line


def test_plain_held_lines_are_not_lost_when_no_transcript_comes():
    out, err = io.StringIO(), io.StringIO()
    render = PlainVoiceRenderer(out=out, err=err)
    for e in EARLY_TOOL[:4]:
        render(e)
    assert "get_weather" not in err.getvalue()  # held for the user's words ...
    render.close()
    assert "get_weather" in err.getvalue()  # ... and shown at the end anyway


def test_live_view_orders_lines_and_spaces_pieces():
    console, buf = _console()
    view = VoiceView(console=console)
    for e in EARLY_TOOL[:6]:
        view(e)
    view(ev.TranscriptDelta(role="assistant", delta="Let me check."))
    view(ev.RealtimeResponseDone(transcript="Let me check."))
    view(ev.TranscriptDelta(role="assistant", delta="It is mild."))  # a second response, no leading space
    view.close()
    text = buf.getvalue()
    assert text.index("you: what is the weather") < text.index("get_weather")
    assert "assistant: Let me check. It is mild." in text


def test_live_view_spoken_and_pending_text_are_spaced():
    console, _ = _console()
    view = VoiceView(console=console)
    view(ev.TextDelta(agent="a", delta="It is mild. Expect rain."))
    view(ev.SpeechDone(text="It is mild.", chars=11))
    rendered = _plain(view)
    assert "It is mild. Expect rain." in rendered
    view.close()
    assert join_text("mild.", "Expect") == "mild. Expect" and join_text("a ", "b") == "a b"


def _plain(view: VoiceView) -> str:
    console, buf = _console()
    console.print(view._render())
    return buf.getvalue()


def test_live_view_status_bar_names_the_agent_after_a_handoff():
    console, _ = _console()
    view = VoiceView(console=console)
    view(ev.SessionStarted(kind="realtime", agent="main"))
    assert "main" in _plain(view)
    view(ev.Handoff(from_agent="main", to_agent="helper"))
    assert "helper" in _plain(view).splitlines()[0]
    view.close()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_meter_is_erased_before_other_output():
    async def run() -> str:
        out, err = io.StringIO(), _Tty()
        render = PlainVoiceRenderer(out=out, err=err)
        render(ev.StateChanged(state="listening"))
        render.set_meter(lambda: (True, -20.0))
        await asyncio.sleep(0)  # the meter draws once
        assert "● rec" in err.getvalue()
        render(ev.TranscriptDone(role="user", text="hello"))
        render.close()
        return err.getvalue()

    err = asyncio.run(run())
    meter, rest = err.split("● rec", 1)
    assert "\r" + " " * 40 + "\r" + "you: hello" in rest  # the meter's line is cleared first
