"""`agent voice [SPEC]`: talk with an agent (STT -> agent -> TTS), or full duplex with --realtime."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Talk with an agent: your speech is transcribed, the agent answers, the answer is spoken.

On a terminal: push-to-talk (Space or Enter starts, again stops); --vad for hands-free, where talking
over the assistant interrupts it. A typed line is sent as text. Ctrl-D quits.
--input FILE.wav runs one turn from a file; --output FILE.wav writes the reply audio instead of playing
it (no sound device needed with both). The reply text goes to stdout, status to stderr.
--realtime uses the Realtime API (speech to speech) instead.

\b
Examples:
  agent voice agent_specs/assistant.yaml --vad
  agent voice --sim --input question.wav --output answer.wav"""


def voice(
    spec: str | None = typer.Argument(None, help="Spec file; default $AGENT_SPEC or built-in."),
    realtime: bool = typer.Option(False, "--realtime", help="Speech to speech over the Realtime API."),
    vad: bool = typer.Option(False, "--vad", help="Hands-free: voice activity detection ends your turn."),
    ptt: bool = typer.Option(False, "--ptt", help="Realtime: push-to-talk instead of server turn detection."),
    text_only: bool = typer.Option(False, "--text-only", help="Realtime: text answers, no speaker."),
    headphones: bool = typer.Option(False, "--headphones", help="No echo guard: barge-in at any level."),
    input_wav: Path | None = typer.Option(None, "--input", metavar="FILE.wav",
                                          help="One turn from this WAV file instead of the microphone."),
    output_wav: Path | None = typer.Option(None, "--output", metavar="FILE.wav",
                                           help="Write the reply audio to this WAV instead of playing it."),
    fast: bool = typer.Option(False, "--fast", help="Realtime --input: send the file faster than real time."),
    record_dir: Path | None = typer.Option(None, "--record", metavar="[DIR]",
                                           help="Save the session's audio (WAV) and turns.json into "
                                                "DIR/<session>/; DIR defaults to recordings."),
    input_device: str | None = typer.Option(None, "--input-device", help="Microphone: id or name part."),
    output_device: str | None = typer.Option(None, "--output-device", help="Speaker: id or name part."),
    jsonl: bool = typer.Option(False, "--jsonl", help="The event stream, one JSON object per line."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No status lines on stderr."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve every tool that asks for approval."),
    model: str | None = typer.Option(None, "--model", help="Override the entry agent's model."),
    max_turns: int | None = typer.Option(None, "--max-turns", min=1, help="Model calls per turn (def. 10)."),
    session: str | None = typer.Option(None, "--session", "-s", help="Resume or start a named conversation."),
    sim: bool = typer.Option(False, "--sim", help="Talk to the embedded simulator instead of a server."),
    sim_script: Path | None = typer.Option(None, "--sim-script", help="Simulator script (implies --sim)."),
    no_trace: bool = typer.Option(False, "--no-trace", help="Do not record a trace of this run."),
    no_trace_content: bool = typer.Option(False, "--no-trace-content", help="Trace timings and shapes only."),
) -> None:
    from agentcli.cli.common import fail, load_spec_arg, run_async
    from agentcli.voice.options import VoiceOptions

    if spec == "-":
        fail("voice reads audio, not a spec, from stdin: give the spec as a file", 2)
    if vad and ptt:
        fail("--vad and --ptt go one at a time", 2)
    if input_wav is not None and not input_wav.is_file():
        fail(f"--input {input_wav}: {_not_a_file(input_wav)}", 2)
    if not realtime and (ptt or text_only or fast):
        used = ", ".join(f for f, on in (("--ptt", ptt), ("--text-only", text_only), ("--fast", fast)) if on)
        fail(f"{used} only apply with --realtime", 2)
    loaded = load_spec_arg(spec)
    opts = VoiceOptions(realtime=realtime, vad=vad, ptt=ptt, text_only=text_only, headphones=headphones,
                        input_wav=input_wav, output_wav=output_wav, fast=fast, record_dir=record_dir,
                        input_device=input_device, output_device=output_device, jsonl=jsonl, quiet=quiet,
                        yes=yes, model=model, max_turns=max_turns, session=session, sim=sim,
                        sim_script=sim_script, no_trace=no_trace, no_trace_content=no_trace_content)
    from agentcli.app.run import holds_answer
    from agentcli.cli.voice_view import make_renderer

    renderer = make_renderer(jsonl=jsonl, quiet=quiet, live=input_wav is None, hold=holds_answer(loaded))
    if realtime:
        from agentcli.realtime import run_realtime

        run_async(run_realtime(loaded, opts, renderer))
        return
    from agentcli.voice.run import run_voice

    run_async(run_voice(loaded, opts, renderer))


def _not_a_file(path: Path) -> str:
    """Why `path` is no WAV file to read: missing, a folder, or not a regular file (a FIFO would block)."""
    if path.is_dir():
        return "is a folder, not a WAV file"
    if path.exists():
        return "is not a regular file (a pipe or a device): give a WAV file"
    return "no such file"
