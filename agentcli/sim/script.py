"""The simulator's script: what the fake model says, hears, and how it misbehaves (a YAML file).

Top-level keys: `turns` (a `match` regex and the `reply` list), `hear` (what transcriptions hear, in
order), `latency` (`first_token_ms`, `stt_ms`, `tts_first_byte_ms`), `api_key`, and `faults`.

Faults are one queue: each HTTP request and each websocket upgrade takes the next fault (an entry serves
`times` takes, default 1). A fault gives `status` (400-599) or `disconnect_after_events: N` (not both),
and/or `latency_ms`; `retry_after_ms` and `message` go with `status`:
- HTTP: `latency_ms` delays the answer; `status` answers with that API-shaped error (and a
  `retry-after-ms` header); `disconnect_after_events: N` cuts the TCP connection after N chunks of a
  streamed answer (SSE events, speech chunks), or after the headers of a non-streamed one.
- Gemini Live WebSocket (`/ws/...BidiGenerateContent`): as the Realtime one (N counts server messages,
  `setupComplete` the first); `go_away_after_events: N` sends a `goAway` after N server messages and
  closes the socket a second later.
- Realtime WebSocket (`/v1/realtime`): the fault is taken by the handshake. `latency_ms` delays the
  connection (the 101 is sent that much later); `status` rejects the handshake with that HTTP error
  status instead of 101; `disconnect_after_events: N` lets the socket open, then cuts it after N server
  events (`session.created` is the first; 0 = before it) with no close frame: the client sees an abnormal
  close (1006).

Kept as plain dataclasses with hand-written checks so that loading a script costs no pydantic import;
every problem becomes one line via UsageError (exit 2).
"""

from __future__ import annotations

import contextvars
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcli.errors import UsageError


@dataclass(slots=True)
class ScriptToolCall:
    name: str
    arguments: dict[str, Any] | str  # a mapping is JSON-encoded when sent
    origin: str = ""  # where the script asks for it ("file:line (turns[0].reply[0].tool_call)"), for errors


@dataclass(slots=True)
class ReplyEntry:
    """One model response: text, or one or more tool calls (several = parallel tool calls)."""

    text: str | None = None
    tool_calls: list[ScriptToolCall] | None = None
    reasoning: str | None = None  # a reasoning item (its summary text) before the output
    refusal: str | None = None  # the model declines, in these words
    incomplete: str | None = None  # the response is cut short for this reason (after `text`, if any)
    failed: dict[str, str] | None = None  # the response fails: {message, code}
    error: dict[str, str] | None = None  # the stream sends an `error` event (after `text`, if any)


@dataclass(slots=True)
class ScriptTurn:
    match: re.Pattern[str]
    reply: list[ReplyEntry]


@dataclass(slots=True)
class Fault:
    status: int | None = None
    times: int = 1
    retry_after_ms: int = 10
    message: str | None = None
    disconnect_after_events: int | None = None
    latency_ms: int = 0
    go_away_after_events: int | None = None  # Gemini Live: a goAway after N server messages


@dataclass(slots=True)
class Latency:
    first_token_ms: int = 0
    stt_ms: int = 0
    tts_first_byte_ms: int = 0


@dataclass(slots=True)
class SimScript:
    api_key: str | None = None
    latency: Latency = field(default_factory=Latency)
    hear: list[str] = field(default_factory=list)
    turns: list[ScriptTurn] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


_TOP_KEYS = {"api_key", "latency", "hear", "turns", "faults"}
# id(mapping) -> its line in the file being loaded, so errors about a script entry can name the line
_LINES: contextvars.ContextVar[dict[int, int]] = contextvars.ContextVar("sim_script_lines", default={})  # noqa: B039


def load_script(path: str | Path) -> SimScript:
    """Read and check a script file; any problem is a one-line UsageError naming the file."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"sim script {p}: cannot read: {e.strerror or e}") from None
    lines: dict[int, int] = {}

    from agentcli.spec.positions import BoundedLoader, check_expansion

    class _Loader(BoundedLoader):  # bounded nesting and alias expansion, as for specs (a script is input too)
        pass

    def _map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
        data: dict[Any, Any] = {}
        lines[id(data)] = node.start_mark.line + 1
        yield data
        data.update(loader.construct_mapping(node))

    _Loader.add_constructor("tag:yaml.org,2002:map", _map)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                check_expansion(node)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise UsageError(f"sim script {p}{where}: {problem}") from None
    token = _LINES.set(lines)
    try:
        return parse_script(data, source=str(p))
    finally:
        _LINES.reset(token)


def parse_script(data: Any, source: str = "<script>") -> SimScript:
    """Check an already-parsed script mapping (None = an empty script)."""
    if data is None:
        return SimScript()
    if not isinstance(data, dict):
        raise _bad(source, "", "must be a mapping with turns:, hear:, faults:, latency:, api_key:")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise _bad(source, unknown[0], f"unknown key (expected one of {', '.join(sorted(_TOP_KEYS))})")
    api_key = data.get("api_key")
    if api_key is not None and not isinstance(api_key, str):
        raise _bad(source, "api_key", "must be a string")
    return SimScript(
        api_key=api_key,
        latency=_latency(data.get("latency"), source),
        hear=_hear(data.get("hear"), source),
        turns=[_turn(t, f"turns[{i}]", source) for i, t in enumerate(_list(data.get("turns"), "turns", source))],
        faults=[_fault(f, f"faults[{i}]", source) for i, f in enumerate(_list(data.get("faults"), "faults", source))],
    )


def _bad(source: str, where: str, message: str) -> UsageError:
    return UsageError(f"sim script {source}: {where + ': ' if where else ''}{message}")


def _list(value: Any, where: str, source: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(source, where, "must be a list")
    return value


def _mapping(value: Any, where: str, source: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(source, where, "must be a mapping")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise _bad(source, f"{where}.{unknown[0]}", f"unknown key (expected one of {', '.join(sorted(allowed))})")
    return value


def _int(value: Any, where: str, source: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(source, where, f"must be an integer >= {minimum}")
    return value


def _latency(value: Any, source: str) -> Latency:
    if value is None:
        return Latency()
    keys = {"first_token_ms", "stt_ms", "tts_first_byte_ms"}
    m = _mapping(value, "latency", source, keys)
    return Latency(**{k: _int(m[k], f"latency.{k}", source) for k in keys if k in m})


def _hear(value: Any, source: str) -> list[str]:
    items = _list(value, "hear", source)
    for i, h in enumerate(items):
        if not isinstance(h, str):
            raise _bad(source, f"hear[{i}]", "must be a string")
    return items


def _turn(value: Any, where: str, source: str) -> ScriptTurn:
    m = _mapping(value, where, source, {"match", "reply"})
    pattern = m.get("match", ".*")
    if not isinstance(pattern, str):
        raise _bad(source, f"{where}.match", "must be a string (a regex)")
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise _bad(source, f"{where}.match", f"bad regex: {e}") from None
    replies = _list(m.get("reply"), f"{where}.reply", source)
    if not replies:
        raise _bad(source, f"{where}.reply", "needs at least one entry (text:, tool_call: or tool_calls:)")
    return ScriptTurn(regex, [_reply(r, f"{where}.reply[{i}]", source) for i, r in enumerate(replies)])


_REPLY_KINDS = ("text", "tool_call", "tool_calls", "refusal", "incomplete", "failed", "error")
# what may go with what: `text` is the partial answer before an incomplete end or an error event
_REPLY_MIXES = ({"text", "incomplete"}, {"text", "error"})


def _reply(value: Any, where: str, source: str) -> ReplyEntry:
    if isinstance(value, str):  # shorthand: `- "hello"` is `- text: "hello"`
        return ReplyEntry(text=value)
    m = _mapping(value, where, source, {*_REPLY_KINDS, "reasoning"})
    kinds = {k for k in m if k != "reasoning"}
    if len(kinds) != 1 and kinds not in _REPLY_MIXES:
        kinds_text = ", ".join(_REPLY_KINDS)
        raise _bad(source, where, f"give exactly one of {kinds_text} (text may go with incomplete or error)")
    entry = ReplyEntry()
    for key in ("text", "refusal", "reasoning"):
        if key in m:
            if not isinstance(m[key], str):
                raise _bad(source, f"{where}.{key}", "must be a string")
            setattr(entry, key, m[key])
    if "incomplete" in m:
        inc = _mapping(m["incomplete"], f"{where}.incomplete", source, {"reason"})
        reason = inc.get("reason", "max_output_tokens")
        if reason not in ("max_output_tokens", "content_filter"):
            raise _bad(source, f"{where}.incomplete.reason", "must be max_output_tokens or content_filter")
        entry.incomplete = reason
    for key in ("failed", "error"):
        if key in m:
            raw = {"message": m[key]} if isinstance(m[key], str) else _mapping(m[key], f"{where}.{key}", source,
                                                                               {"message", "code"})
            if not all(isinstance(v, str) for v in raw.values()):
                raise _bad(source, f"{where}.{key}", "message and code must be strings")
            setattr(entry, key, {"message": raw.get("message", "The model failed (simulated)."),
                                 "code": raw.get("code", "server_error")})
    if "tool_call" in m:
        entry.tool_calls = [_tool_call(m["tool_call"], f"{where}.tool_call", source)]
    elif "tool_calls" in m:
        calls = _list(m["tool_calls"], f"{where}.tool_calls", source)
        if not calls:
            raise _bad(source, f"{where}.tool_calls", "needs at least one call")
        entry.tool_calls = [_tool_call(c, f"{where}.tool_calls[{i}]", source) for i, c in enumerate(calls)]
    return entry


def _tool_call(value: Any, where: str, source: str) -> ScriptToolCall:
    m = _mapping(value, where, source, {"name", "arguments"})
    name = m.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(source, f"{where}.name", "must be a non-empty string")
    args = m.get("arguments", {})
    if args is None:
        args = {}
    if isinstance(args, str):
        try:
            json.loads(args)
        except ValueError:
            raise _bad(source, f"{where}.arguments", "a string must be JSON text (or give a mapping)") from None
    elif not isinstance(args, dict):
        raise _bad(source, f"{where}.arguments", "must be a mapping or a JSON string")
    line = _LINES.get().get(id(value))
    origin = f"{source}:{line} ({where})" if line else f"{source} ({where})"
    return ScriptToolCall(name=name, arguments=args, origin=origin)


def _fault(value: Any, where: str, source: str) -> Fault:
    keys = {"status", "times", "retry_after_ms", "message", "disconnect_after_events", "latency_ms",
            "go_away_after_events"}  # fmt: skip
    m = _mapping(value, where, source, keys)
    if not ({"status", "disconnect_after_events", "latency_ms", "go_away_after_events"} & set(m)):
        raise _bad(source, where, "give status, disconnect_after_events, go_away_after_events or latency_ms")
    if "status" in m and "disconnect_after_events" in m:
        raise _bad(source, where, "give status or disconnect_after_events, not both")
    fault = Fault()
    if "status" in m:
        fault.status = _int(m["status"], f"{where}.status", source, 400)
        if fault.status > 599:
            raise _bad(source, f"{where}.status", "must be an HTTP error status (400-599)")
    if "disconnect_after_events" in m:
        fault.disconnect_after_events = _int(m["disconnect_after_events"], f"{where}.disconnect_after_events", source)
    if "go_away_after_events" in m:
        fault.go_away_after_events = _int(m["go_away_after_events"], f"{where}.go_away_after_events", source)
    if "times" in m:
        fault.times = _int(m["times"], f"{where}.times", source, 1)
    if "retry_after_ms" in m:
        fault.retry_after_ms = _int(m["retry_after_ms"], f"{where}.retry_after_ms", source)
    if "latency_ms" in m:
        fault.latency_ms = _int(m["latency_ms"], f"{where}.latency_ms", source)
    if "message" in m:
        if not isinstance(m["message"], str):
            raise _bad(source, f"{where}.message", "must be a string")
        fault.message = m["message"]
    return fault
