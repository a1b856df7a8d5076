"""What the simulated model answers, derived only from the conversation it is given (no server state).

Protocol-neutral: the Responses, Chat and Realtime endpoints convert their input into the neutral item
format of agentcli/models/base.py and render the planned output in their own wire format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agentcli.sim.script import ReplyEntry, SimScript

EXHAUSTED = "(sim: script exhausted)"
_CALL_ID = re.compile(r"^call_t(\d+)r(\d+)c\d+$")
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(slots=True)
class PlannedToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text
    origin: str = ""  # the script line that asks for it


@dataclass(slots=True)
class PlannedText:
    text: str


@dataclass(slots=True)
class PlannedToolCalls:
    calls: list[PlannedToolCall]


PlannedOutput = PlannedText | PlannedToolCalls


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def item_text(item: dict[str, Any]) -> str:
    """The text of a neutral item: message content (a string or a list of text parts), or a tool output."""
    if item.get("type") == "function_call_output":
        out = item.get("output", "")
        return out if isinstance(out, str) else json.dumps(out)
    if item.get("type") == "function_call":
        return f"{item.get('name', '')} {item.get('arguments', '')}"
    content = item.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") or p.get("transcript") or "" for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if t)
    return ""


def _is_message(item: dict[str, Any], role: str) -> bool:
    return item.get("type", "message") == "message" and item.get("role") == role


def _is_model_output(item: dict[str, Any]) -> bool:
    return _is_message(item, "assistant") or item.get("type") == "function_call"


def _group_key(item: dict[str, Any]) -> tuple[str, str] | None:
    m = _CALL_ID.match(str(item.get("call_id", ""))) if item.get("type") == "function_call" else None
    return (m.group(1), m.group(2)) if m else None


def responses_since(items: list[dict[str, Any]]) -> int:
    """How many model responses these items hold. Adjacent model outputs are one response; tool calls
    whose ids we minted (call_t<turn>r<index>c<i>) stay one response even when outputs are interleaved."""
    count = 0
    prev_model = False
    open_key: tuple[str, str] | None = None
    for item in items:
        if _is_model_output(item):
            key = _group_key(item)
            same = key == open_key if key is not None and open_key is not None else prev_model
            if not same:
                count += 1
                open_key = key
            elif key is not None:
                open_key = key
            prev_model = True
        elif item.get("type") == "function_call_output":
            prev_model = False
    return count


@dataclass(slots=True)
class ConversationFacts:
    input: str  # the latest user message
    turn: int  # user messages so far
    index: int  # model responses since the latest user message
    tool_output: str  # the latest tool output anywhere in the conversation


def read_conversation(conversation: list[dict[str, Any]]) -> ConversationFacts:
    last_user = -1
    turn = 0
    tool_output = ""
    for i, item in enumerate(conversation):
        if _is_message(item, "user"):
            last_user = i
            turn += 1
        elif item.get("type") == "function_call_output":
            tool_output = item_text(item)
    user_text = item_text(conversation[last_user]) if last_user >= 0 else ""
    return ConversationFacts(user_text, turn, responses_since(conversation[last_user + 1 :]), tool_output)


def _fill(template: str, facts: ConversationFacts) -> str:
    # plain replacement, not str.format: replies may hold JSON braces
    return (
        template.replace("{input}", facts.input)
        .replace("{turn}", str(facts.turn))
        .replace("{tool_output}", facts.tool_output)
    )


def _fill_args(value: Any, facts: ConversationFacts) -> Any:
    if isinstance(value, str):
        return _fill(value, facts)
    if isinstance(value, dict):
        return {k: _fill_args(v, facts) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_args(v, facts) for v in value]
    return value


def _entry_for(script: SimScript | None, facts: ConversationFacts) -> ReplyEntry | None:
    if script is None:
        return None
    for turn in script.turns:
        if turn.match.search(facts.input):
            if facts.index < len(turn.reply):
                return turn.reply[facts.index]
            texts = [r.text for r in turn.reply if r.text is not None]
            return ReplyEntry(text=texts[-1] if texts else EXHAUSTED)
    return None


@dataclass(slots=True)
class PlannedResponse:
    """A whole planned response: its outputs, and how it ends when not plainly (script-level faults)."""

    outputs: list[PlannedOutput]
    reasoning: str | None = None  # a reasoning item's summary, before the outputs
    refusal: str | None = None
    incomplete: str | None = None  # the reason
    failed: dict[str, str] | None = None  # {message, code}
    error: dict[str, str] | None = None  # an `error` event after the outputs


def plan_response(
    script: SimScript | None,
    conversation: list[dict[str, Any]],
    output_schema: dict[str, Any] | None = None,
    json_mode: bool = False,
) -> PlannedResponse:
    """plan_reply, with the script's reasoning, refusal, incomplete, failed and error entries.
    `json_mode` (response_format json_object): a text reply that is not JSON becomes {"text": ...}."""
    facts = read_conversation(conversation)
    entry = _entry_for(script, facts)
    if entry is None:
        entry = ReplyEntry(text=f"You said: {facts.input}")
    planned = PlannedResponse(
        outputs=[],
        reasoning=_fill(entry.reasoning, facts) if entry.reasoning is not None else None,
        refusal=_fill(entry.refusal, facts) if entry.refusal is not None else None,
        incomplete=entry.incomplete,
        failed=entry.failed,
        error=entry.error,
    )
    if entry.refusal is not None or entry.failed is not None:
        return planned
    if entry.tool_calls:
        calls = []
        for i, call in enumerate(entry.tool_calls):
            args = call.arguments
            args_text = _fill(args, facts) if isinstance(args, str) else json.dumps(_fill_args(args, facts))
            calls.append(PlannedToolCall(f"call_t{facts.turn}r{facts.index}c{i}", call.name, args_text, call.origin))
        planned.outputs = [PlannedToolCalls(calls)]
        return planned
    if entry.text is None and (entry.incomplete or entry.error):
        return planned
    text = _fill(entry.text or "", facts)
    if json_mode and output_schema is None:
        try:
            json.loads(text)
        except ValueError:
            text = json.dumps({"text": text})
    if output_schema is not None and not entry.incomplete:
        try:
            json.loads(text)
        except ValueError:
            from agentcli.sim.structured import minimal_instance

            text = json.dumps(minimal_instance(output_schema))
    planned.outputs = [PlannedText(text)]
    return planned


def plan_reply(
    script: SimScript | None,
    conversation: list[dict[str, Any]],
    output_schema: dict[str, Any] | None = None,
) -> list[PlannedOutput]:
    """The next model response for this conversation (neutral items; system messages are ignored).
    With `output_schema`, a text reply that is not JSON becomes a minimal instance of the schema.
    A scripted refusal is said as text here (see plan_response for the faults)."""
    planned = plan_response(script, conversation, output_schema)
    if planned.refusal is not None:
        return [PlannedText(planned.refusal)]
    return planned.outputs or [PlannedText("")]


def undeclared_call(planned: PlannedResponse, declared: set[str]) -> PlannedToolCall | None:
    """The first planned tool call naming a tool the request did not declare (the real API never makes one)."""
    for output in planned.outputs:
        if isinstance(output, PlannedToolCalls):
            for call in output.calls:
                if call.name not in declared:
                    return call
    return None


def undeclared_error(call: PlannedToolCall, declared: set[str]) -> str:
    offered = f"it offers {', '.join(sorted(declared))}" if declared else "it offers no tools"
    return (
        f"The sim script asks for a call to tool '{call.name}' ({call.origin or 'script'}), but the request "
        f"does not declare that tool ({offered})."
    )


def text_pieces(text: str) -> list[str]:
    """Streaming deltas for a text: one per word, each with its leading whitespace."""
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)) :]
    if tail:
        pieces = [*pieces[:-1], pieces[-1] + tail] if pieces else [tail]
    return pieces


def json_pieces(text: str, size: int = 8) -> list[str]:
    """Streaming deltas for JSON arguments: short fixed-size slices, like a tokenizer would give."""
    return [text[i : i + size] for i in range(0, len(text), size)]
