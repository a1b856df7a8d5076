"""`agent events schema`: the JSON Schema of the `--jsonl` events, generated from `agentcli/events.py`
(each dataclass, its fields' types, and the comments beside them), and of the `chat --json` object."""

from __future__ import annotations

import json
import typing
from typing import Any

import typer

app = typer.Typer(help="The event vocabulary of --jsonl.", no_args_is_help=True)

DRAFT = "https://json-schema.org/draft/2020-12/schema"


@app.command("schema")
def schema(
    result: bool = typer.Option(False, "--json-result", help="The schema of `agent chat --json`'s object instead."),
) -> None:
    """Print the JSON Schema of one `--jsonl` line (any event), or of the `--json` object."""
    print(json.dumps(json_result_schema() if result else events_schema(), indent=2, ensure_ascii=False))


@app.command("table")
def table() -> None:
    """Print the events as a Markdown table (the one in the README)."""
    print(markdown_table())


# What an event means, for those whose class in events.py has no docstring of its own.
_WHAT = {
    "session_started": "A run began (chat one-shot, REPL, voice or realtime session)",
    "session_ended": "The run ended: `status` ok, error or interrupted",
    "turn_started": "One user input starts a turn",
    "turn_done": "The turn's final answer (or why there is none)",
    "agent_started": "An agent takes the turn (the entry agent, or after a handoff)",
    "agent_finished": "That agent is done with the turn",
    "generation_started": "A model call begins",
    "text_delta": "A piece of the answer as it streams",
    "generation_done": "A model call ended: its text, usage and time to first token",
    "tool_call_started": "The model called a tool",
    "tool_call_finished": "The tool's result (or error, or refused approval); exactly one follows each "
                          "`tool_call_started`. `cancelled` when the call was stopped while it ran, nothing sent "
                          "back: the model took it back (Gemini Live, on a barge-in), its turn was cut off (chat: "
                          "Ctrl-C; voice: a barge-in, the session's end; then before the turn's `turn_done`), or "
                          "its realtime session ended or dropped; `error` says why. A sub-agent's calls (in "
                          "`sub_agent_event`) cut off with their turn end the same way, before the call they "
                          "run under",
    "handoff": "One agent handed the conversation to another",
    "guardrail_checked": "An input or output guardrail ran; `tripped` when it stopped or replaced something",
    "error": "Something failed; `fatal` when it ended the run",
    "transcript_delta": "A piece of a transcript (the user's speech, or realtime's spoken answer)",
}


def describe(name: str, spec: dict[str, Any]) -> str:
    return _WHAT.get(name) or spec.get("description", "").split(". ")[0].rstrip(".")


def markdown_table() -> str:
    lines = ["| `type` | fields (besides `type`, `ts`, `turn_id`, `parent_id`) | what it is |", "|---|---|---|"]
    base = {"type", "ts", "turn_id", "parent_id"}
    for name, spec in events_schema()["$defs"].items():
        if name == "usage":
            continue
        fields = ", ".join(f"`{f}`" for f in spec["properties"] if f not in base) or "–"
        lines.append(f"| `{name}` | {fields} | {describe(name, spec).replace('|', '/')} |")
    return "\n".join(lines)


def event_classes() -> list[type]:
    """Every concrete event, in the order events.py defines them."""
    from agentcli import events as ev

    return [c for c in vars(ev).values()
            if isinstance(c, type) and issubclass(c, ev.Event) and c is not ev.Event and c.__module__ == ev.__name__]


def events_schema() -> dict[str, Any]:
    from agentcli import events as ev

    comments = _field_comments(ev)
    defs: dict[str, Any] = {"usage": _object_schema(ev.Usage, comments)}
    for cls in event_classes():
        defs[_type_name(cls)] = _object_schema(cls, comments)
    return {
        "$schema": DRAFT,
        "$id": "agentcli/events.schema.json",
        "title": "agentcli event",
        "description": "One line of `--jsonl` output: an event, told apart by its `type`.",
        "oneOf": [{"$ref": f"#/$defs/{_type_name(c)}"} for c in event_classes()],
        "$defs": defs,
    }


def json_result_schema() -> dict[str, Any]:
    """The object `agent chat --json` prints (cli/render.JsonCollector)."""
    nullable_text = {"type": ["string", "null"]}
    return {
        "$schema": DRAFT,
        "$id": "agentcli/chat-json.schema.json",
        "title": "agent chat --json",
        "type": "object",
        "required": ["output", "agent", "status", "error", "tool_calls", "handoffs", "usage", "session"],
        "properties": {
            "output": {"description": "The answer: text, or the parsed object when the agent has an output_type."},
            "agent": {"type": "string", "description": "The agent that answered (after handoffs)."},
            "status": {"enum": ["ok", "error", "interrupted", "guardrail", "refusal", "incomplete"],
                       "description": "How the turn ended; the exit code is 0 only for ok."},
            "error": nullable_text | {"description": "Why it did not end ok (a guardrail's message, an error)."},
            "tool_calls": {"type": "array", "items": {
                "type": "object", "required": ["call_id", "agent", "name", "arguments"],
                "properties": {"call_id": {"type": "string"}, "agent": {"type": "string"},
                               "name": {"type": "string"},
                               "arguments": {"description": "The arguments, parsed when they are JSON."},
                               "output": {"type": "string"}, "error": nullable_text,
                               "approved": {"type": ["boolean", "null"]}}}},
            "handoffs": {"type": "array", "items": {
                "type": "object", "required": ["from", "to"],
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}},
            "usage": {"type": "object", "required": ["input_tokens", "output_tokens"],
                      "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}}},
            "session": nullable_text | {"description": "The conversation's name: continue it with --session."},
        },
    }


def _type_name(cls: type) -> str:
    import dataclasses

    field = next(f for f in dataclasses.fields(cls) if f.name == "type")
    return str(field.default)


def _object_schema(cls: type, comments: dict[tuple[str, str], str]) -> dict[str, Any]:
    import dataclasses

    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        prop = {"const": f.default} if f.name == "type" else _type_schema(hints[f.name])
        note = _comment_of(cls, f.name, comments)
        if note:
            prop["description"] = note
        props[f.name] = prop
    out: dict[str, Any] = {"type": "object", "required": list(props), "properties": props}
    doc = (cls.__doc__ or "").strip()
    if doc and not doc.startswith(cls.__name__ + "("):  # dataclasses make up a signature as the doc
        out["description"] = " ".join(doc.split())
    return out


def _comment_of(cls: type, name: str, comments: dict[tuple[str, str], str]) -> str | None:
    for klass in cls.__mro__:
        if (klass.__name__, name) in comments:
            return comments[(klass.__name__, name)]
    return None


def _type_schema(hint: Any) -> dict[str, Any]:
    import types

    from agentcli import events as ev

    if hint is Any:
        return {}
    if hint is ev.Usage:
        return {"$ref": "#/$defs/usage"}
    if isinstance(hint, type) and issubclass(hint, ev.Event):
        return {"$ref": "#"}  # an event nested in another (a sub-agent's): any event
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a) for a in typing.get_args(hint)]
        simple = [o.get("type") for o in options]
        if all(isinstance(t, str) for t in simple):
            return {"type": simple}
        return {"anyOf": options}
    if origin is dict:
        _, value = typing.get_args(hint)
        return {"type": "object", "additionalProperties": _type_schema(value)}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(hint)[0])}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if hint in simple:
        return {"type": simple[hint]}
    raise TypeError(f"no JSON Schema for {hint!r}: teach agentcli/cli/events_cmd.py")


def _field_comments(module: Any) -> dict[tuple[str, str], str]:
    """(class, field) -> the `# comment` on the field's line in the module's source."""
    import inspect
    import io
    import tokenize

    out: dict[tuple[str, str], str] = {}
    klass: str | None = None
    field: str | None = None
    tokens = tokenize.generate_tokens(io.StringIO(inspect.getsource(module)).readline)
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string == "class" and tok.start[1] == 0:
            klass = next(tokens).string
        elif tok.type == tokenize.NAME and tok.start[1] == 4 and klass:
            field = tok.string
            line = tok.start[0]
        elif tok.type == tokenize.COMMENT and klass and field and tok.start[0] == line:
            out[(klass, field)] = tok.string.lstrip("# ").strip()
    return out
