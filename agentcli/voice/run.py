"""`agent voice` without --realtime: set up the agent, speech endpoints, audio and renderers, then run
one turn from a file (--input) or a live session (push-to-talk or hands-free)."""

from __future__ import annotations

import sys
import time
from typing import Any

from agentcli.app.consumers import Consumer, Renderer
from agentcli.errors import AudioError
from agentcli.spec.model import Spec
from agentcli.voice.options import VoiceOptions

STT_RATE = 16000  # what the microphone audio is captured, detected and uploaded at


async def run_voice(spec: Spec, opts: VoiceOptions, renderer: Renderer | Consumer) -> int:
    """Run a voice session; returns the exit code. `renderer` receives every event (the CLI picks it:
    --jsonl, the live view on a colour TTY, plain lines)."""
    from agentcli.app.consumers import as_renderer
    from agentcli.app.run import Run, RunOptions, holds_answer

    user_audio = _read_input(opts)  # a bad file fails before anything starts
    if opts.output_wav is not None:
        _check_writable(opts.output_wav)
    options = RunOptions(kind="voice", session=opts.session, sim=opts.sim, sim_script=opts.sim_script,
                         yes=opts.yes, model=opts.model, no_trace=opts.no_trace,
                         no_trace_content=opts.no_trace_content)
    agent = spec.entry_agent
    async with Run(spec, options, as_renderer(renderer)) as run:
        runner = run.make_runner(opts.max_turns)
        await runner.start_mcp()  # a server that cannot start is one line and exit 1, before any audio
        recording = _recording(opts, run, spec)  # a folder that cannot be made: one line, before any audio
        run.start(run.conversation.agent,
                  trace={"model": opts.model or agent.model, "stt": agent.voice.stt.model,
                         "tts": agent.voice.tts.model},
                  metadata={"mode": _mode(opts, user_audio is not None)})
        stt, tts = _speech(spec, run.endpoint)
        from agentcli.voice.warmup import warm_up

        await warm_up(stt.client)
        sink = _sink(opts)
        sink.start()
        run.on_close(sink.stop)
        from agentcli.voice.pipeline import VoiceContext

        ctx = VoiceContext(runner=runner, conversation=run.conversation, stt=stt, tts=tts, sink=sink,
                           emit=run.emit, save=run.save, hold_speech=holds_answer(spec),
                           turn_ids=run.fanout.ids,
                           user_audio_tap=recording.user_audio if recording is not None else None,
                           answer_audio_tap=recording.assistant_audio if recording is not None else None)
        if user_audio is not None:
            code = await _file_turn(ctx, user_audio)
            if code != 0:
                run.finish("error")
            return code
        from agentcli.voice.live import LiveSession

        live = LiveSession(ctx, opts, agent.voice.vad, run.renderer, asker=run.asker,
                           turn=agent.voice.turn, interruption=agent.voice.interruption)
        return await live.run()


def _mode(opts: VoiceOptions, file_input: bool) -> str:
    if file_input:
        return "file"
    return "vad" if live_mode(opts) == "vad" else "ptt"


def live_mode(opts: VoiceOptions) -> str:
    """vad (hands-free) when asked, or when there is no terminal to press keys on; else push-to-talk."""
    if opts.vad or not sys.stdin.isatty():
        return "vad"
    return "ptt"


def _read_input(opts: VoiceOptions) -> Any:
    if opts.input_wav is None:
        return None
    from agentcli.audio.wavfile import read_wav

    audio = read_wav(opts.input_wav, STT_RATE)
    if audio.size == 0:
        raise AudioError(f"{opts.input_wav}: no audio in the file")
    return audio


def _check_writable(path: Any) -> None:
    import os

    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise AudioError(f"--output {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise AudioError(f"--output {path}: folder {parent} is not writable")


def _speech(spec: Spec, endpoint: Any) -> tuple[Any, Any]:
    from agentcli.models.client import make_client, resolve_base_url
    from agentcli.voice.stt import OpenAITranscriber
    from agentcli.voice.tts import OpenAISpeech

    agent = spec.entry_agent
    provider = agent.provider
    client = make_client(provider, base_url=endpoint.base_url, api_key=endpoint.api_key)
    url = resolve_base_url(provider, endpoint.base_url)
    stt = OpenAITranscriber(client, agent.voice.stt, url=url, provider=provider, api_key=endpoint.api_key)
    tts = OpenAISpeech(client, agent.voice.tts, url=url, provider=provider, api_key=endpoint.api_key)
    return stt, tts


def _sink(opts: VoiceOptions) -> Any:
    from agentcli.voice.tts import PCM_RATE

    if opts.output_wav is not None:
        from agentcli.audio.sink import FileSink

        return FileSink(opts.output_wav, rate=PCM_RATE)
    from agentcli.audio.player import Player

    return Player(opts.output_device, rate=PCM_RATE)


def _recording(opts: VoiceOptions, run: Any, spec: Spec) -> Any:
    """--record: a consumer of the run's events; the VoiceContext hands it the audio (its taps)."""
    if opts.record_dir is None:
        return None
    from agentcli.recording.cascade import CascadeRecording
    from agentcli.voice.tts import PCM_RATE

    recording = CascadeRecording(opts.record_dir, run.conversation.name, agent=spec.entry, assistant_rate=PCM_RATE)
    run.add_consumer(recording.on_event)  # SessionEnded closes it
    return recording


async def _file_turn(ctx: Any, audio: Any) -> int:
    """--input: one turn from the file; the end of the file is the end of speech."""
    from agentcli.voice.pipeline import TurnInput, VoiceTurn

    turn = VoiceTurn(ctx, TurnInput(audio=audio, rate=STT_RATE, end_of_speech=time.perf_counter()))
    result = await turn.run()
    ctx.set_state("idle")
    return 0 if result.status in ("ok", "guardrail") else 1
