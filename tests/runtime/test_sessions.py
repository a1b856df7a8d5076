"""SessionStore: round trips, latest, list, file mode, and several processes writing at once."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import stat
from pathlib import Path

from agentcli.runtime.conversation import Conversation
from agentcli.runtime.conversations import SessionStore


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


def _user(text: str) -> dict[str, str]:
    return {"type": "message", "role": "user", "content": text}


def test_two_holders_of_one_session_append_and_keep_both_turns(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = SessionStore(path)
    first.save(Conversation(items=[_user("base")], agent="a", name="same", turns=1))
    a, b = SessionStore(path).load("same"), SessionStore(path).load("same")
    assert a is not None and b is not None
    a.items.append(_user("from a"))
    a.turns += 1
    b.items.append(_user("from b"))
    b.turns += 1
    SessionStore(path).save(a)
    SessionStore(path).save(b)  # before: b overwrote a's turn
    stored = SessionStore(path).load("same")
    assert stored is not None
    assert [i["content"] for i in stored.items] == ["base", "from a", "from b"] and stored.turns == 3
    # a process keeps its own view, and its next save appends only what it added since
    a.items.append(_user("a again"))
    a.turns += 1
    SessionStore(path).save(a)
    stored = SessionStore(path).load("same")
    assert stored is not None
    assert [i["content"] for i in stored.items] == ["base", "from a", "from b", "a again"] and stored.turns == 4


def test_a_rewrite_replaces_only_this_processes_items_and_reset_empties_its_view(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    mine = Conversation(items=[_user("q"), {"type": "message", "role": "assistant", "content": "long answer"}],
                        agent="a", name="s", turns=1)
    store = SessionStore(path)
    store.save(mine)
    other = SessionStore(path).load("s")
    assert other is not None
    other.items.append(_user("other"))
    SessionStore(path).save(other)
    mine.items = [mine.items[0], {"type": "message", "role": "assistant", "content": "long"}]  # cut by a barge-in
    store.save(mine)
    stored = store.load("s")
    assert stored is not None and [i["content"] for i in stored.items] == ["q", "other", "long"]
    mine.items.clear()
    mine.turns = 0
    store.save(mine)  # /reset: what this process saved goes; the other process's turn stays
    stored = store.load("s")
    assert stored is not None and [i["content"] for i in stored.items] == ["other"]


def test_the_stored_history_is_redacted_but_not_cut(tmp_path: Path, monkeypatch) -> None:
    from agentcli.redact import add_spec_secrets
    from agentcli.spec.model import AgentSpec, Provider, Spec

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef123456")
    monkeypatch.setenv("CORP_LLM_CREDENTIAL", "corp-secret-value-42")
    spec = Spec(agents={"a": AgentSpec(name="a", provider=Provider(api_key_env="CORP_LLM_CREDENTIAL"))},
                entry="a", path=None)
    add_spec_secrets(spec)
    path = tmp_path / "s.db"
    long_text = "y" * 40_000
    conv = Conversation(items=[{"type": "function_call_output", "call_id": "c",
                                "output": "key sk-test-abcdef123456 and corp-secret-value-42"}, _user(long_text)],
                        agent="a", name="k")
    SessionStore(path).save(conv)
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("s.db-*"))
    assert b"sk-test-abcdef123456" not in raw and b"corp-secret-value-42" not in raw
    stored = SessionStore(path).load("k")
    assert stored is not None and stored.items[0]["output"] == "key [REDACTED] and [REDACTED]"
    assert stored.items[1]["content"] == long_text


def test_a_schema_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("""CREATE TABLE sessions (name TEXT PRIMARY KEY, id TEXT NOT NULL, agent TEXT NOT NULL,
                        turns INTEGER NOT NULL, items TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
                        seq INTEGER NOT NULL)""")
        conn.execute("INSERT INTO sessions VALUES ('old', 'id1', 'a', 1, ?, 1.0, 1.0, 1)",
                     ('[{"type": "message", "role": "user", "content": "kept"}]',))
    conn.close()
    stored = SessionStore(path).load("old")
    assert stored is not None and stored.items == [_user("kept")] and (stored.id, stored.turns) == ("id1", 1)


def test_eight_concurrent_chats_on_one_session_keep_all_eight_turns(agent_home: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT, agent_env

    procs = [subprocess.Popen([sys.executable, "-m", "agentcli", "chat", "--sim", "--session", "same",
                               "-m", f"msg{n}"], cwd=ROOT, env=agent_env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    stored = SessionStore(agent_home / "sessions.db").load("same")
    assert stored is not None and stored.turns == 8
    users = [i["content"] for i in stored.items if i.get("role") == "user"]
    assert sorted(users) == [f"msg{n}" for n in range(8)]
    # each turn's items stay together: every user message is followed by its own answer
    for n, item in enumerate(stored.items):
        if item.get("role") == "user":
            assert item["content"] in str(stored.items[n + 1]["content"])
