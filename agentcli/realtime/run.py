"""`agent voice SPEC --realtime`: the realtime driver. It wires a RealtimeSession to the run (endpoint,
store, tracing, events), the devices or files, and the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from agentcli.app.approval import Asker
from agentcli.app.consumers import Consumer, Renderer
from agentcli.errors import AgentCliError, ToolError, UsageError
from agentcli.realtime.config import RATE
from agentcli.spec.model import Spec
from agentcli.voice.options import VoiceOptions

FILE_BLOCK_MS = 20
# Microphone blocks of 40 ms: half the callbacks and socket messages of 20 ms (about 2 % of a core less)
# for at most 20 ms more before the server's VAD hears speech.
MIC_BLOCK_MS = 40


async def run_realtime(spec: Spec, opts: VoiceOptions, renderer: Renderer | Consumer) -> int:
    """Run a realtime session; returns the exit code (0; Ctrl-C raises through to exit 130).
    `renderer` receives every event (the CLI picks it)."""
    from agentcli.app.consumers import as_renderer
    from agentcli.app.run import Run, RunOptions
    from agentcli.models.client import resolve_api_key, resolve_base_url
    from agentcli.realtime.connection import EventLog, realtime_url, validator_from_env
    from agentcli.realtime.session import RealtimeSession, SessionOptions

    if opts.text_only and opts.output_wav is not None:
        raise UsageError("--text-only answers in text: there is no audio for --output")
    source = _file_source(opts)  # a bad file fails before anything starts
    options = RunOptions(kind="realtime", session=opts.session, sim=opts.sim, sim_script=opts.sim_script,
                         yes=opts.yes, model=opts.model, no_trace=opts.no_trace,
                         no_trace_content=opts.no_trace_content)
    agent = spec.entry_agent
    gemini = agent.realtime.gemini if agent.realtime.provider == "gemini" else None
    model = opts.model or (gemini.model if gemini is not None else agent.realtime.model)
    async with Run(spec, options, as_renderer(renderer)) as run:
        run.error_kind = "connection"
        conversation = run.conversation
        recording = _recording(opts, conversation.name, spec)  # a folder that cannot be made: before anything
        log = EventLog.from_env()
        if log is not None:
            run.on_close(log.close)
        connect, url, api_key = None, "", ""
        if gemini is not None:  # realtime.provider: gemini (agentcli/realtime/providers.py)
            from agentcli.realtime.providers import gemini_connect

            connect, url = gemini_connect(agent, run.endpoint, model, lambda: run.conversation.items, log)
        else:
            base_url = resolve_base_url(agent.provider, run.endpoint.base_url or agent.realtime.base_url)
            url = realtime_url(base_url, model)
            api_key = resolve_api_key(agent.provider, base_url, run.endpoint.api_key)
        runner = None
        if _delegates(spec):  # MCP tools, or agents as tools: a text runtime does that work
            runner = run.make_runner()
            await runner.start_mcp()  # a server that cannot start is one line and exit 1
        try:
            session = RealtimeSession(
                spec,
                conversation,
                url=url,
                api_key=api_key,
                emit=run.emit,
                sink=None,
                approver=run.approver,
                api_key_env=agent.provider.api_key_env,
                options=SessionOptions(text_only=opts.text_only, ptt=opts.ptt),
                save=lambda _conversation: run.save(),  # through the run: records the spec, skips empty
                log=log,
                validate=validator_from_env(),
                mcp=runner.mcp if runner is not None else None,
                runner=runner,
                connect=connect,
                turn_ids=run.fanout.ids,
            )
        except ToolError as e:
            raise UsageError(str(e)) from None
        if recording is not None:
            run.add_consumer(recording.on_event)  # SessionEnded closes it
        run.on_close(session.close)
        run.start(spec.agents[session.agent].name,  # a resumed --session may be with another agent
                  trace={"model": model, "voice": gemini.voice if gemini else agent.realtime.voice},
                  metadata={"model": model, "mode": _mode(opts)})
        sink = _sink(opts)
        if sink is not None:
            sink.start()
            run.on_close(sink.stop)
            from agentcli.realtime.audio_io import OutputAudio

            session.output = OutputAudio(sink)
            if recording is not None:
                session.output.tap = recording.assistant_audio
        return await _serve(session, opts, source, spec, recording, asker=run.asker, renderer=run.renderer)


def _delegates(spec: Spec) -> bool:
    from agentcli.spec.model import AgentTool

    return any(a.mcp_servers or any(isinstance(t, AgentTool) for t in a.tools) for a in spec.agents.values())


async def _serve(session: Any, opts: VoiceOptions, source: Any, spec: Spec, recording: Any = None,
                 asker: Asker | None = None, renderer: Any = None) -> int:
    """Run the session with its inputs until one of them ends it; 0 on a clean end."""
    from agentcli.realtime.inputs import TerminalInput, piped_lines

    stop = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    terminal: TerminalInput | None = None
    mic = source
    runner = asyncio.ensure_future(session.run())
    try:
        await _until_ready(session, runner)
        if mic is None and not opts.text_only:
            mic = _microphone(opts, session.output, spec.entry_agent.voice.vad.echo_ratio)
        if mic is not None:
            mic.start()
            if source is None and renderer is not None:  # the live microphone's level meter
                live_mic = mic
                renderer.set_meter(lambda: (not session.manual or session.talking, live_mic.level))
            pump = _pump(session, mic, opts, spec, stop, is_file=source is not None, recording=recording)
            tasks.append(asyncio.ensure_future(pump))
        if sys.stdin is not None and sys.stdin.isatty():
            terminal = TerminalInput(session, stop, ptt=session.manual)
            terminal.start()
            if asker is not None:  # approvals are answered through the reader that owns the terminal
                asker.owner = terminal.ask
        elif source is None:
            tasks.append(asyncio.ensure_future(piped_lines(session, stop=stop, mic=mic is not None)))
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()  # a ModelError (gave up reconnecting, refused session) surfaces here
        if source is not None and not session.turns.finished:  # the file made no turn: say so, exit 1
            raise AgentCliError(f"{opts.input_wav}: no turn was heard in the file; nothing was answered")
        return 0
    finally:
        if terminal is not None:
            if asker is not None:
                asker.owner = None
            terminal.close()
        for task in [*tasks, runner]:
            task.cancel()
        for task in [*tasks, runner]:
            with contextlib.suppress(BaseException):
                await task
        if mic is not None:
            mic.stop()


async def _until_ready(session: Any, runner: asyncio.Task[Any]) -> None:
    ready = asyncio.ensure_future(session.ready.wait())
    done, _ = await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
    if runner in done:
        ready.cancel()
        runner.result()
        raise UsageError("the realtime session ended before it started")


async def _pump(
    session: Any,
    source: Any,
    opts: VoiceOptions,
    spec: Spec,
    stop: asyncio.Event,
    *,
    is_file: bool,
    recording: Any = None,
) -> None:
    from agentcli.audio.echo import EchoGuard
    from agentcli.realtime.audio_io import MicPump

    output = session.output
    guard = None
    front = getattr(source, "frontend", None)
    if output is not None and front is not None:
        guard = front.guard  # behind the echo canceller: a last line of defence (lets all through on headphones)
    elif output is not None and not opts.headphones:
        guard = EchoGuard(spec.entry_agent.voice.vad.echo_ratio)
    if is_file and session.manual:  # the whole file is one push-to-talk turn
        await session.ptt_press()
    send = session.send_audio
    if recording is not None:  # user.wav: the blocks as sent (not the silence input_ended adds after a file)
        send = recording.mic_tap(send, session.ready.is_set)
    pump = MicPump(
        source,
        send,
        gate=session.gate,
        echo_guard=guard,
        playback_energy=(lambda: output.sink.energy) if output is not None else (lambda: 0.0),
        fast=is_file and opts.fast,
        wait_turn=session.wait_turn_over,
    )
    await pump.run()
    if is_file:
        await session.input_ended()
        await session.wait_quiet()
        stop.set()


def _recording(opts: VoiceOptions, session: str, spec: Spec) -> Any:
    if opts.record_dir is None:
        return None
    from agentcli.recording.realtime import RealtimeRecording

    return RealtimeRecording(opts.record_dir, session, agent=spec.entry_agent.name, rate=RATE)


def _file_source(opts: VoiceOptions) -> Any:
    if opts.input_wav is None:
        return None
    from agentcli.audio.mic import FileSource
    from agentcli.realtime.inputs import check_input_audio

    # --fast is paced by the pump (10x, pausing for answers), so the file itself is read unpaced then
    source = FileSource(opts.input_wav, rate=RATE, block_ms=FILE_BLOCK_MS, fast=opts.fast)
    check_input_audio(str(opts.input_wav), source.samples, RATE)  # empty, too short, silent: one clear error
    return source


def _microphone(opts: VoiceOptions, output: Any, echo_ratio: float) -> Any:
    """The microphone through the acoustic front end: the echo of what the player really played is
    cancelled (not with --headphones), then noise; without the wheel, the energy guard handles echo."""
    from agentcli.audio.frontend import FrontEnd
    from agentcli.audio.mic import Recorder

    far_end = getattr(output.sink, "far_end", None) if output is not None else None
    front = FrontEnd(RATE, far_end=far_end, echo=not opts.headphones, echo_ratio=echo_ratio)
    return Recorder(opts.input_device, rate=RATE, block_ms=MIC_BLOCK_MS, frontend=front)


def _sink(opts: VoiceOptions) -> Any:
    if opts.text_only:
        return None
    if opts.output_wav is not None:
        from agentcli.audio.sink import FileSink

        return FileSink(opts.output_wav, rate=RATE)
    from agentcli.audio.player import Player

    return Player(opts.output_device, rate=RATE)


def _mode(opts: VoiceOptions) -> str:
    if opts.input_wav is not None:
        return "file"
    return "ptt" if opts.ptt else ("text" if opts.text_only else "vad")
