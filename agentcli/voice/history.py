"""After a barge-in, the history keeps only what the user heard.

The answer is spoken sentence by sentence; each sentence knows its audio length and how much of it was
played. `heard_chars` maps heard milliseconds back onto the raw answer text (whole sentences, then a
proportional, word-aligned share of the one in progress). `truncate_turn` cuts the turn's assistant
messages down to that many characters and marks the last one `_interrupted: True`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentcli import events as ev

DEFAULT_MS_PER_CHAR = 65.0  # ~15 characters a second: a fair guess before any audio length is known


@dataclass(slots=True)
class SpokenSentence:
    """One sentence of the answer as spoken: its raw text (as it streamed), its audio length, and how
    much of that audio the user heard. `complete` is False while its synthesis is still running."""

    raw: str
    audio_ms: float = 0.0
    heard_ms: float = 0.0
    complete: bool = False


def heard_chars(sentences: list[SpokenSentence], ms_per_char: float | None = None) -> int:
    """How many characters of the joined raw sentences the user heard."""
    rate = ms_per_char or _ms_per_char(sentences)
    total = 0
    for s in sentences:
        length = s.audio_ms if s.complete else max(s.audio_ms, len(s.raw.strip()) * rate)
        if length <= 0:
            if not s.complete:
                break
            total += len(s.raw)  # nothing to say aloud (a rule, an empty line): heard with its neighbours
            continue
        if s.heard_ms >= length - 1.0:
            total += len(s.raw)
            continue
        share = max(0.0, s.heard_ms) / length
        return total + _word_cut(s.raw, int(len(s.raw) * share))
    return total


def heard_ms(sentences: list[SpokenSentence]) -> float:
    return sum(max(0.0, s.heard_ms) for s in sentences)


def _ms_per_char(sentences: list[SpokenSentence]) -> float:
    done = [(s.audio_ms, len(s.raw.strip())) for s in sentences if s.complete and s.audio_ms > 0]
    chars = sum(c for _, c in done)
    return sum(ms for ms, _ in done) / chars if chars else DEFAULT_MS_PER_CHAR


def _word_cut(text: str, n: int) -> int:
    """`n` moved back to the end of the last whole word before it (the user heard whole words)."""
    if n <= 0:
        return 0
    if n >= len(text) or text[n].isspace():
        return n
    space = max(text.rfind(" ", 0, n), text.rfind("\n", 0, n))
    return space if space > 0 else 0


# --- the turn's items ---------------------------------------------------------------------------------


@dataclass
class TurnItems:
    """Rebuilds a turn's history items from its events, for when the run was cancelled before the runner
    committed them: the user message, the text of each generation, and the tool calls that finished."""

    user_text: str
    items: list[dict[str, Any]] = field(default_factory=list)
    agent: str = ""
    committed: bool = False  # the runner finished the turn and saved its items itself
    _text: str = ""
    _calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items.append({"type": "message", "role": "user", "content": self.user_text})

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.AgentStarted):
            self.agent = event.agent
        elif isinstance(event, ev.TextDelta):
            self._text += event.delta
        elif isinstance(event, ev.GenerationDone):
            self._end_text()
        elif isinstance(event, ev.ToolCallStarted):
            self._end_text()
            call = {"type": "function_call", "call_id": event.call_id, "name": event.name,
                    "arguments": event.arguments}
            self._calls[event.call_id] = call
        elif isinstance(event, ev.ToolCallFinished):
            call = self._calls.pop(event.call_id, None)
            if call is not None and not event.cancelled:  # a call cut off has no output to go back
                self.items.append(call)
                self.items.append({"type": "function_call_output", "call_id": event.call_id,
                                   "output": event.output})
        elif isinstance(event, ev.TurnDone) and event.status == "ok":
            self.committed = True

    def _end_text(self) -> None:
        if self._text:
            self.items.append({"type": "message", "role": "assistant", "content": self._text,
                               "_agent": self.agent})
            self._text = ""

    def finish(self) -> list[dict[str, Any]]:
        """The items so far, the text of a generation in progress included."""
        self._end_text()
        return self.items


def _is_assistant_text(item: dict[str, Any]) -> bool:
    return item.get("type") == "message" and item.get("role") == "assistant" and isinstance(
        item.get("content"), str
    )


def truncate_turn(items: list[dict[str, Any]], chars: int) -> list[dict[str, Any]]:
    """The turn's items with assistant text cut to the first `chars` characters heard (in order).

    Assistant messages nobody heard are dropped; the last kept one is cut to a whole word and marked
    `_interrupted: True`. Tool calls stay when their output is there (the tool ran); a call without its
    output is dropped so the history stays valid for the API.
    """
    outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
    out: list[dict[str, Any]] = []
    left = chars
    last_text: dict[str, Any] | None = None
    for item in items:
        if item.get("type") == "function_call" and item.get("call_id") not in outputs:
            continue
        if not _is_assistant_text(item):
            out.append(item)
            continue
        content: str = item["content"]
        if left <= 0:
            continue
        kept = dict(item)
        if left < len(content):
            kept["content"] = content[:left].rstrip()
        left -= len(content)
        if kept["content"].strip():
            out.append(kept)
            last_text = kept
    if last_text is not None:
        last_text["_interrupted"] = True
    return out


def heard_text(items: list[dict[str, Any]]) -> str:
    """The assistant text of (truncated) turn items, joined: what the user heard."""
    return "".join(i["content"] for i in items if _is_assistant_text(i)).strip()
