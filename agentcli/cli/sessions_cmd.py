"""`agent sessions`: the saved conversations (list, show, rm), and the `-c` check of which one continues.
Data goes to stdout, messages to stderr."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import typer

from agentcli.errors import AgentCliError

if TYPE_CHECKING:
    from agentcli.runtime.conversations import SessionStore
    from agentcli.spec.model import Spec

app = typer.Typer(help="List, show and remove saved conversations.", no_args_is_help=True)


def _store() -> SessionStore:
    from agentcli.runtime.conversations import SessionStore

    return SessionStore()


def _fail(message: str, code: int = 1) -> typer.Exit:
    print(f"agent: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """The saved conversations, most recent first: name, last used, turns, agent, spec."""
    try:
        rows = _store().summaries()
    except AgentCliError as e:
        raise _fail(str(e), e.exit_code) from None
    if json_out:
        print(json.dumps([_row_json(r) for r in rows], ensure_ascii=False))
        return
    if not rows:
        _say("no conversations yet")
        return
    width = max(len(r.name) for r in rows)
    agents = max(len(r.agent) for r in rows)
    for r in rows:
        print(_visible(f"{r.name:<{width}}  {r.updated:%Y-%m-%d %H:%M}  {r.turns:>3} turns  {r.agent:<{agents}}  "
                       f"{r.spec or '-'}"))


def _row_json(r: Any) -> dict[str, Any]:
    return {"name": r.name, "agent": r.agent, "turns": r.turns, "items": r.items, "spec": r.spec,
            "created": r.created.isoformat(timespec="seconds"), "updated": r.updated.isoformat(timespec="seconds")}


@app.command("show")
def show(
    name: str = typer.Argument(..., help="A conversation's name, or `latest`."),
    json_out: bool = typer.Option(False, "--json", help="The conversation and its items as JSON."),
) -> None:
    """A conversation's messages, as `you:` / `<agent>:` lines (tool calls as `· name(args)`)."""
    try:
        store = _store()
        conversation = store.latest() if name == "latest" else store.load(name)
        spec = store.spec_of(conversation.name) if conversation is not None and conversation.name else None
    except AgentCliError as e:
        raise _fail(str(e), e.exit_code) from None
    if conversation is None:
        raise _fail("no conversations yet" if name == "latest" else
                    f"no conversation named {name!r} (`agent sessions list` shows them)")
    if json_out:
        print(json.dumps({"name": conversation.name, "agent": conversation.agent, "turns": conversation.turns,
                          "spec": spec, "items": conversation.items}, ensure_ascii=False, default=str))
        return
    _say(f"{conversation.name} · {conversation.agent} · {conversation.turns} turns · {spec or 'spec unknown'}")
    for item in conversation.items:
        line = _item_line(item)
        if line:
            print(_visible(line))


def _visible(text: str) -> str:
    """Control characters (a model's text may hold terminal escapes) shown as \\xNN, never sent raw."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def _item_line(item: dict[str, Any]) -> str | None:
    kind = item.get("type")
    if kind == "message":
        role = item.get("role")
        who = "you" if role == "user" else item.get("_agent") or role
        content = item.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return f"{who}: {text}"
    if kind == "function_call":
        return f"· {item.get('name')}({item.get('arguments', '')})"
    return None


@app.command("rm")
def rm(
    names: list[str] = typer.Argument(None, help="Conversations to remove."),
    empty: bool = typer.Option(False, "--empty", help="Remove every conversation with no turns."),
) -> None:
    """Remove conversations by name, or every empty one with --empty. Exit 1 if a name was not found."""
    if not names and not empty:
        raise _fail("name the conversations to remove, or give --empty", 2)
    try:
        store = _store()
        targets = list(names or [])
        if empty:
            targets += [r.name for r in store.summaries() if r.turns == 0 and r.name not in targets]
        missing = []
        for name in targets:
            if store.delete(name):
                store.forget_spec(name)
                _say(f"removed {name}")
            else:
                missing.append(name)
    except AgentCliError as e:
        raise _fail(str(e), e.exit_code) from None
    if missing:
        raise _fail(f"no conversation named {', '.join(repr(m) for m in missing)}")
    if empty and not targets:
        _say("no empty conversations")


def resolve_continue(spec: Spec, kind: str, quiet: bool) -> str:
    """For `-c`: the name of the latest conversation, after saying which one continues. Refuses (exit 2)
    when it was run with another spec: `--session NAME` continues it with this one on purpose."""
    from agentcli.runtime.conversations import spec_identity

    store = _store()
    conversation = store.latest()
    if conversation is None or not conversation.name:
        raise _fail(f"no conversation to continue yet (start one with `agent {kind}`)", 2)
    name = conversation.name
    recorded = store.spec_of(name)
    this = spec_identity(spec)
    if (recorded is not None and recorded != this) or (recorded is None and conversation.agent not in spec.agents):
        was = recorded or f"agent {conversation.agent}"
        raise _fail(f"the latest conversation, {name}, was with {was}, not {this}; "
                    f"to continue it with this spec anyway: --session {name}", 2)
    if not quiet:
        _say(f"· continuing {name} with {conversation.agent} ({conversation.turns} turns)")
    return name
