"""SessionStore: round trips, latest, list, file mode, and several processes writing at once."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import stat
from pathlib import Path

from agentcli.runtime.conversation import Conversation
from agentcli.runtime.sessions import SessionStore


def test_save_load_round_trip_and_auto_name(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    conv = Conversation(
        items=[{"type": "message", "role": "user", "content": "héllo"}], agent="triage", turns=1
    )
    name = store.save(conv)
    assert re.fullmatch(r"chat-\d{8}-\d{6}-[0-9a-f]{4}", name) and conv.name == name
    loaded = store.load(name)
    assert loaded == conv
    assert store.load("nope") is None


def test_default_path_is_in_agent_home(agent_home: Path) -> None:
    store = SessionStore()
    store.save(Conversation(items=[], agent="a", name="x"))
    assert (agent_home / "sessions.db").exists()


def test_upsert_latest_and_list(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    a = Conversation(items=[], agent="a", name="alpha")
    b = Conversation(items=[], agent="a", name="beta")
    store.save(a)
    store.save(b)
    assert store.latest().name == "beta"  # type: ignore[union-attr]
    a.turns = 2
    a.items.append({"type": "message", "role": "user", "content": "again"})
    store.save(a)
    assert store.latest() == a
    assert [(s.name, s.turns) for s in store.list()] == [("alpha", 2), ("beta", 0)]
    assert store.list()[0].updated.tzinfo is not None
    assert store.delete("beta") and not store.delete("beta")


def test_file_is_private_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SessionStore(path).save(Conversation(items=[], agent="a", name="x"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _writer(path: str, worker: int, count: int) -> None:
    store = SessionStore(Path(path))
    for i in range(count):
        conv = Conversation(
            items=[{"type": "message", "role": "user", "content": "x" * 2000}] * 20, agent="a"
        )
        conv.name = f"w{worker}-{i}"
        conv.turns = i
        store.save(conv)
        store.save(Conversation(items=[], agent="a", name="shared", turns=i))
        assert store.load(conv.name) is not None


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "concurrent.db"  # not created yet: the processes race to create it too
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    names = {s.name for s in SessionStore(path).list()}
    assert names == {f"w{w}-{i}" for w in range(4) for i in range(15)} | {"shared"}


def test_open_or_start_resumes_starts_and_falls_back_to_the_entry_agent(tmp_path: Path) -> None:
    import pytest

    from agentcli.errors import UsageError
    from agentcli.spec.model import AgentSpec, Spec

    spec = Spec(agents={"triage": AgentSpec(name="triage"), "helper": AgentSpec(name="helper")}, entry="triage",
                path=None)
    store = SessionStore(tmp_path / "s.db")
    with pytest.raises(UsageError, match="agent voice"):
        store.open_or_start(spec, kind="voice", latest=True)
    fresh = store.open_or_start(spec, kind="realtime")
    assert re.fullmatch(r"realtime-\d{8}-\d{6}-[0-9a-f]{4}", fresh.name or "") and fresh.agent == "triage"
    named = store.open_or_start(spec, "work")
    assert (named.name, named.items, named.agent) == ("work", [], "triage")
    named.agent, named.turns = "helper", 1
    store.save(named)
    assert store.open_or_start(spec, "work").agent == "helper"  # resumed after a handoff
    assert store.open_or_start(spec, latest=True).name == "work"
    store.save(Conversation(items=[], agent="gone", name="old"))
    assert store.open_or_start(spec, "old").agent == "triage"  # the spec no longer has that agent
