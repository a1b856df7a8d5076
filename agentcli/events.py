"""The one event vocabulary: chat, voice and realtime emit these; renderers, --jsonl and tracing consume them.

Every event is a small dataclass told apart by its `type` literal. `ts` is wall-clock seconds, derived
from a monotonic clock so that durations computed from two events are never negative.
Producers create events; consumers never mutate them. New kinds are added here, nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

_WALL0 = time.time()
_MONO0 = time.perf_counter()


def now() -> float:
    """Wall-clock seconds that never go backwards within a process."""
    return _WALL0 + (time.perf_counter() - _MONO0)


def from_perf(perf: float) -> float:
    """A time.perf_counter() reading on the events' clock (exact: the clock is derived from it)."""
    return _WALL0 + (perf - _MONO0)


def output_text(output: Any) -> str:
    """A turn's output as text: structured output (an output_type) is shown as JSON."""
    if isinstance(output, str):
        return output
    import json

    return json.dumps(output, indent=2, ensure_ascii=False)


class TurnIds:
    """A run's turn ids, "1", "2", ... in the order its turns begin; they never restart (a REPL /reset
    restarts the conversation's turn numbers, not the run's). The run's fan-out holds one and gives an
    unstamped TurnStarted the next id; a driver that knows a turn has begun before its TurnStarted (the
    user started talking) takes the id then and stamps the turn's events itself."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        self.last += 1
        return str(self.last)


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


@dataclass(slots=True, kw_only=True)
class Event:
    type: str = "event"
    ts: float = field(default_factory=now)
    turn_id: str | None = None  # the run's turn this belongs to (stamped by its producer, else by the fan-out)
    parent_id: str | None = None  # the tool call it happened under (an agent used as a tool), if any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- a run: one chat one-shot, one REPL conversation, one voice or realtime session -----------------


@dataclass(slots=True, kw_only=True)
class SessionStarted(Event):
    type: Literal["session_started"] = "session_started"
    kind: str = "chat"  # chat | voice | realtime
    agent: str = ""
    session: str | None = None  # the conversation name (--session), if any
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class SessionEnded(Event):
    type: Literal["session_ended"] = "session_ended"
    status: str = "ok"  # ok | error | interrupted
    error: str | None = None


# --- a turn: one user input to one final answer ------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TurnStarted(Event):
    type: Literal["turn_started"] = "turn_started"
    turn: int = 0
    input: str = ""
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class TurnDone(Event):
    type: Literal["turn_done"] = "turn_done"
    turn: int = 0
    agent: str = ""  # the agent that gave the final answer (after handoffs)
    output: Any = None  # str, or the parsed object when the agent has an output_type
    usage: Usage = field(default_factory=Usage)
    interrupted: bool = False
    status: str = "ok"  # ok | error | interrupted | guardrail | refusal | incomplete
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class AgentStarted(Event):
    type: Literal["agent_started"] = "agent_started"
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class AgentFinished(Event):
    type: Literal["agent_finished"] = "agent_finished"
    agent: str = ""
    status: str = "ok"
    error: str | None = None


# --- model calls -------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class GenerationStarted(Event):
    type: Literal["generation_started"] = "generation_started"
    agent: str = ""
    model: str = ""


@dataclass(slots=True, kw_only=True)
class TextDelta(Event):
    type: Literal["text_delta"] = "text_delta"
    agent: str = ""
    delta: str = ""


@dataclass(slots=True, kw_only=True)
class GenerationDone(Event):
    type: Literal["generation_done"] = "generation_done"
    agent: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    ttft_ms: float | None = None  # time to first token (text or tool call)
    output: str = ""  # the text this generation produced
    status: str = "ok"
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class Retrying(Event):
    """The model call failed in a way worth retrying (429, 5xx, connection) and will be tried again."""

    type: Literal["retrying"] = "retrying"
    attempt: int = 1
    reason: str = ""


# --- tools, handoffs, guardrails ---------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ToolCallStarted(Event):
    type: Literal["tool_call_started"] = "tool_call_started"
    agent: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""  # JSON text as the model sent it
    server: str | None = None  # the MCP server the tool belongs to, if any


@dataclass(slots=True, kw_only=True)
class ToolCallFinished(Event):
    type: Literal["tool_call_finished"] = "tool_call_finished"
    agent: str = ""
    call_id: str = ""
    name: str = ""
    output: str = ""  # what the model is given back (an error string when the tool failed)
    error: str | None = None
    approved: bool | None = None  # None when the tool needs no approval
    # stopped while it ran, nothing went back: the model took the call back (Gemini Live), its turn was cut off
    # (chat: Ctrl-C; voice: a barge-in, the session's end; before the turn's TurnDone), or its realtime session
    # ended or dropped; `error` says why
    cancelled: bool = False


@dataclass(slots=True, kw_only=True)
class SubAgentEvent(Event):
    """An event of a sub-agent run by an `agent:` tool, nested under that tool call (call_id). Renderers
    that ignore it keep the sub-agent's text off stdout and out of speech; tracing nests its spans."""

    type: Literal["sub_agent_event"] = "sub_agent_event"
    call_id: str = ""
    tool: str = ""
    event: Event | None = None


@dataclass(slots=True, kw_only=True)
class Handoff(Event):
    type: Literal["handoff"] = "handoff"
    from_agent: str = ""
    to_agent: str = ""


@dataclass(slots=True, kw_only=True)
class GuardrailChecked(Event):
    type: Literal["guardrail_checked"] = "guardrail_checked"
    agent: str = ""
    name: str = ""
    stage: str = "input"  # input | output
    tripped: bool = False
    message: str | None = None  # what the user is told when it trips
    started: float | None = None  # ts when the check began, so tracing has a duration


@dataclass(slots=True, kw_only=True)
class ErrorEvent(Event):
    type: Literal["error"] = "error"
    message: str = ""
    kind: str = "runtime"  # runtime | model | tool | spec | audio | connection | refusal | incomplete
    fatal: bool = False  # it ended the run: the CLI prints its one line, so renderers need not


# --- voice and realtime ------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class StateChanged(Event):
    """What the voice loop is doing now: listening | hearing | thinking | speaking | idle."""

    type: Literal["state"] = "state"
    state: str = "idle"


@dataclass(slots=True, kw_only=True)
class TranscriptDelta(Event):
    type: Literal["transcript_delta"] = "transcript_delta"
    role: str = "user"  # user | assistant
    delta: str = ""


@dataclass(slots=True, kw_only=True)
class TranscriptDone(Event):
    """A finished transcription of the user's speech (the `transcription` span)."""

    type: Literal["transcript_done"] = "transcript_done"
    role: str = "user"
    text: str = ""
    model: str = ""
    audio_ms: float = 0.0
    started: float | None = None  # ts when transcription began


@dataclass(slots=True, kw_only=True)
class SpeechDone(Event):
    """One sentence synthesized and handed to the player (the `speech` span)."""

    type: Literal["speech_done"] = "speech_done"
    text: str = ""
    model: str = ""
    voice: str = ""
    chars: int = 0
    audio_ms: float = 0.0
    first_byte_ms: float | None = None
    started: float | None = None
    status: str = "ok"  # ok | cancelled | error


@dataclass(slots=True, kw_only=True)
class Interrupted(Event):
    """The user barged in: playback stopped; only `heard_text` stays in the history."""

    type: Literal["interrupted"] = "interrupted"
    heard_ms: float = 0.0
    heard_text: str = ""
    item_id: str | None = None  # realtime: the truncated item
    # their difference is the barge-in latency (both on the events' clock):
    speech_started: float | None = None  # when the speech began (first voiced frame; realtime: speech_started came)
    silenced: float | None = None  # when the output went silent for it (null: the sink cannot tell, or nothing played)


@dataclass(slots=True, kw_only=True)
class PlaybackPaused(Event):
    """Speech was suspected during an answer: playback paused where it was (not yet an interruption)."""

    type: Literal["playback_paused"] = "playback_paused"
    heard_ms: float = 0.0  # of the answer, when it paused


@dataclass(slots=True, kw_only=True)
class PlaybackResumed(Event):
    """The suspected speech was too short to be an interruption (a cough): the answer goes on from where
    it paused."""

    type: Literal["playback_resumed"] = "playback_resumed"
    paused_ms: float = 0.0  # how long it was paused
    speech_ms: float = 0.0  # the sound that paused it


@dataclass(slots=True, kw_only=True)
class RealtimeResponseDone(Event):
    """A realtime response ended (the `realtime_response` span)."""

    type: Literal["realtime_response_done"] = "realtime_response_done"
    response_id: str = ""
    status: str = "completed"
    usage: Usage = field(default_factory=Usage)
    first_delta_ms: float | None = None
    started: float | None = None
    transcript: str = ""


@dataclass(slots=True, kw_only=True)
class TurnLatency(Event):
    """Milestones of one voice/realtime turn, in ms from end of the user's speech."""

    type: Literal["turn_latency"] = "turn_latency"
    marks: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class UserSpeech(Event):
    """One stretch of the user's speech. Realtime: start_ms/end_ms place it in the audio sent this session,
    from its first block (one timeline across reconnects), from the server's VAD or push-to-talk; the
    cascade: in the turn's own audio."""

    type: Literal["user_speech"] = "user_speech"
    start_ms: float = 0.0
    end_ms: float = 0.0
    # on the events' clock (both modes, for the trace's user_speech and end_of_turn spans): when the speech
    # began and ended, and when the end of the turn was decided (the server's speech_stopped, the local VAD)
    started: float | None = None
    ended: float | None = None
    detected: float | None = None
    # hands-free turns: the transcript rule, with the acoustic model's verdict when it is on
    end_of_turn: str | None = None  # complete | unfinished | neutral when committed; null: not decided yet
    turn_model_p: float | None = None  # the end-of-turn model's P(finished) of the turn; null when it is off


@dataclass(slots=True, kw_only=True)
class Notice(Event):
    """Status for humans (reconnecting, approval refused, ...): shown on stderr, traced as metadata."""

    type: Literal["notice"] = "notice"
    message: str = ""
    level: str = "info"  # info | warning
