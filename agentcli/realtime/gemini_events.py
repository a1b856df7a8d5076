"""Gemini Live's server messages as the typed events of server_events.py (the reading half of
agentcli/realtime/gemini_model.py, whose docstring says how the events are made from the wire)."""

from __future__ import annotations

import base64
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agentcli.realtime import gemini_wire as wire
from agentcli.realtime.server_events import (
    AudioDelta,
    AudioDone,
    FunctionCallDone,
    FunctionCallsCancelled,
    ItemAdded,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    TextDone,
    UserTranscriptDelta,
    UserTranscriptDone,
)

QUIET_MS = 200  # no voiced audio sent for this long: the user has stopped talking


@dataclass
class Resumption:
    """Shared by the connections of one session: the last resumption handle the server gave."""

    handle: str | None = None
    # content sent since that handle (clientContent turns, toolResponse): a resumed session has not seen
    # it, so it goes again
    unconsumed: list[dict[str, Any]] = field(default_factory=list)
    # the item and response ids we make up: unique across connections, since the session's history maps
    # them to its entries (a new connection counting from 1 again would write into old answers)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class GeminiReading:
    """The state the server's messages move: the generation in progress and the user's turn."""

    def __init__(self, resumption: Resumption, text_only: bool = False):
        self.resumption = resumption
        self._queue: deque[ServerEvent] = deque()
        self._ids = resumption.ids
        # the generation in progress
        self._rid: str | None = None
        self._aid = ""
        self._spoke = False  # its assistant item is out
        self._text = ""
        self._audio = False
        self._calls: list[FunctionCallDone] = []
        self._usage = (0, 0)
        # the user's side
        self._user_id: str | None = None  # the item of the generation in progress
        self._user_text = ""
        self._next_text = ""  # transcription of speech not yet answered
        self._speaking = False  # SpeechStarted sent, SpeechStopped not yet
        self._heard = False  # the user spoke (or pressed) since the last generation
        self._sent_ms = 0.0  # audio sent on this connection (24 kHz ms)
        self._voiced: tuple[float, float] | None = None  # where speech lies in it (by energy), for timing
        self._manual = False  # no server activity detection: the client marks turns
        # answers
        self._expect = False  # the server will answer on its own (activityEnd, toolResponse)
        self._answered = False  # a generation ended since the last input
        self._call_names: dict[str, str] = {}  # call id -> function name, for functionResponse
        self._open_calls: set[str] = set()  # this connection's toolCall ids awaiting their toolResponse
        self._cancelled_calls: set[str] = set()  # toolCall ids the server took back (toolCallCancellation)
        self._go_away = False
        self._cut_by_content = False  # our own content reached the server during a generation
        self._text_only = text_only

    def _translate(self, msg: dict[str, Any]) -> None:
        q = self._queue
        usage = msg.get("usageMetadata")
        if isinstance(usage, dict):
            self._usage = (int(usage.get("promptTokenCount") or 0), int(usage.get("responseTokenCount") or 0))
        content = msg.get("serverContent")
        if isinstance(content, dict):
            if content.get("interrupted"):
                self._interrupted()
            heard = content.get("inputTranscription")
            if isinstance(heard, dict) and heard.get("text"):
                self._user_words(str(heard["text"]))
            turn = content.get("modelTurn")
            for part in (turn.get("parts") or []) if isinstance(turn, dict) else []:
                if not isinstance(part, dict) or part.get("thought"):
                    continue
                blob = part.get("inlineData")
                if isinstance(blob, dict) and str(blob.get("mimeType", "")).startswith("audio/"):
                    self._answering()
                    self._audio = True
                    q.append(AudioDelta(self._rid or "", self._aid, _to_24k(blob)))
                elif part.get("text") and self._text_only:
                    self._said(str(part["text"]))
            said = content.get("outputTranscription")
            if isinstance(said, dict) and said.get("text"):
                self._said(str(said["text"]))
            if content.get("turnComplete"):
                self._end("completed")
                self._answered = True
        calls = msg.get("toolCall")
        if isinstance(calls, dict):
            self._generating()
            for call in calls.get("functionCalls") or []:
                call_id, name = str(call.get("id") or f"call_g{next(self._ids)}"), str(call.get("name") or "")
                self._call_names[call_id] = name
                self._open_calls.add(call_id)
                args = json.dumps(call.get("args") or {})
                self._calls.append(FunctionCallDone(self._rid or "", f"item_g{next(self._ids)}", call_id, name, args))
            q.extend(self._calls)
            self._end("completed")  # the model waits for the toolResponse: this response is over
        cancelled = msg.get("toolCallCancellation")
        if isinstance(cancelled, dict):
            ids = [str(i) for i in cancelled.get("ids") or []]
            self._open_calls.difference_update(ids)  # no toolResponse goes for them
            self._cancelled_calls.update(ids)
            q.append(FunctionCallsCancelled(ids))
        if "goAway" in msg:
            self._go_away = True
        update = msg.get("sessionResumptionUpdate")
        if isinstance(update, dict) and update.get("resumable") and update.get("newHandle"):
            self.resumption.handle = str(update["newHandle"])
            self.resumption.unconsumed.clear()

    def _said(self, text: str) -> None:
        self._answering()
        self._text += text
        self._queue.append(TextDelta(self._rid or "", self._aid, text))

    def _user_words(self, text: str) -> None:
        if self._rid is not None and not self._speaking and self._user_id is not None:
            self._user_text += text  # a late transcription of the question being answered
            self._queue.append(UserTranscriptDelta(self._user_id, text))
            return
        # Gemini says nothing of where speech ends: a transcription arriving once the audio we send has
        # been quiet a while follows the end of the speech (the session's latency marks count from it)
        quiet = self._voiced is not None and self._sent_ms - self._voiced[1] >= QUIET_MS
        if not (quiet and self._heard):
            self._speech_started()
        self._heard = True
        self._next_text += text
        if quiet and self._rid is None:
            self._speech_stopped()

    def _speech_stopped(self) -> None:
        if self._speaking:
            self._speaking = False
            end = self._voiced[1] if self._voiced is not None else self._sent_ms
            self._queue.append(SpeechStopped(int(end)))

    def _speech_started(self) -> None:
        self._heard = True
        if self._speaking or self._manual:
            return
        self._speaking = True
        start = self._voiced[0] if self._voiced is not None else self._sent_ms
        self._queue.append(SpeechStarted(int(start)))

    def _interrupted(self) -> None:
        """The generation is dropped: the server heard the user over it (its activity detection or our
        activityStart), or our own new content interrupted it (no speech then)."""
        if not self._cut_by_content:
            self._speech_started()
        self._cut_by_content = False
        self._end("cancelled")

    def _generating(self) -> None:
        if self._rid is not None:
            return
        q = self._queue
        self._user_id = None
        if self._heard:  # the user's turn this generation answers
            self._speech_stopped()
            self._user_id, self._user_text, self._next_text = f"item_gu{next(self._ids)}", self._next_text, ""
            q.append(ItemAdded(self._user_id, "message", "user"))
            self._heard, self._voiced = False, None
        n = next(self._ids)
        self._rid, self._aid = f"resp_g{n}", f"item_ga{n}"
        self._text, self._audio, self._calls = "", False, []
        self._expect = self._cut_by_content = False
        self._spoke = False
        q.append(ResponseCreated(self._rid))

    def _answering(self) -> None:
        """Text or audio of the answer: its assistant item (a generation of tool calls alone has none)."""
        self._generating()
        if not self._spoke:
            self._spoke = True
            self._queue.append(ItemAdded(self._aid, "message", "assistant"))

    def _end(self, status: str) -> None:
        rid = self._rid
        if rid is None:
            return
        q = self._queue
        if self._user_id is not None:
            q.append(UserTranscriptDone(self._user_id, self._user_text))
        if self._text:
            q.append(TextDone(rid, self._aid, self._text))
        if self._audio:
            q.append(AudioDone(rid, self._aid))
        (tokens_in, tokens_out), self._usage = self._usage, (0, 0)
        q.append(ResponseDone(rid, status, input_tokens=tokens_in, output_tokens=tokens_out, calls=list(self._calls)))
        self._rid, self._user_id, self._calls = None, None, []


def _to_24k(blob: dict[str, Any]) -> str:
    """The answer's audio as the session plays it (24 kHz); other rates are resampled."""
    data = str(blob.get("data") or "")
    mime = str(blob.get("mimeType") or "")
    rate = wire.OUT_RATE
    if "rate=" in mime:
        try:
            rate = int(mime.split("rate=", 1)[1].split(";")[0])
        except ValueError:
            rate = wire.OUT_RATE
    if rate == wire.OUT_RATE:
        return data
    import numpy as np

    from agentcli.audio.resample import float_to_pcm16, resample

    pcm = resample(np.frombuffer(base64.b64decode(data), dtype=np.int16), rate, wire.OUT_RATE)
    return base64.b64encode(float_to_pcm16(pcm)).decode("ascii")

