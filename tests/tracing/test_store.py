"""The store: private file, WAL, schema version, secrets never written, many writers, crashes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.errors import AgentCliError
from agentcli.redact import REDACTED, Redactor
from agentcli.tracing import open_recorder
from agentcli.tracing.query import list_traces
from agentcli.tracing.store import SCHEMA_VERSION, TraceStore

from .helpers import at, chat_turn, find, record, stored

SECRET = "sk-test-SECRET123"


def _db_files(home: Path) -> list[Path]:
    return [p for p in home.iterdir() if p.name.startswith("traces.db")]


def test_store_files_are_private_even_with_a_permissive_umask(agent_home: Path) -> None:
    old = os.umask(0)
    try:
        recorder = open_recorder(kind="chat", workflow="x")
        assert recorder is not None
        recorder.on_event(ev.SessionStarted())
        recorder.on_event(ev.TurnStarted(turn=1))
        recorder.on_event(ev.TurnDone(turn=1))
        files = _db_files(agent_home)
        assert {p.name for p in files} >= {"traces.db", "traces.db-wal"}
        assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {"0o600"}
        recorder.close()
    finally:
        os.umask(old)


def test_wal_mode_schema_version_and_indexes(agent_home: Path) -> None:
    record(chat_turn())
    conn = sqlite3.connect(agent_home / "traces.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"traces_by_start", "traces_by_workflow"} <= indexes
    plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT * FROM traces ORDER BY started DESC"))
    assert "traces_by_start" in plan  # `trace list` never sorts the whole table


def test_a_store_from_a_newer_agentcli_is_refused_and_the_run_goes_on(
    agent_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(agent_home / "traces.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(AgentCliError, match="schema 99, newer than this agentcli knows"):
        TraceStore.open()
    recorder = open_recorder(kind="chat", workflow="x")
    assert recorder is not None
    recorder.on_event(ev.SessionStarted())  # must not raise: tracing never breaks the run
    recorder.on_event(ev.TurnStarted(turn=1))
    recorder.close()
    err = capsys.readouterr().err
    assert err.count("tracing stopped for this run") == 1 and "newer" in err


def test_a_corrupt_store_stops_tracing_not_the_run(agent_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (agent_home / "traces.db").write_bytes(b"this is not a database" * 100)
    recorder = open_recorder(kind="chat", workflow="x")
    assert recorder is not None
    for event in chat_turn():
        recorder.on_event(event)
    recorder.close()
    assert "tracing stopped for this run" in capsys.readouterr().err


def test_redactor_patterns() -> None:
    r = Redactor(extra_secrets=["hunter2-literal"])
    cases = {
        "key sk-proj-AbC123_def-456 end": f"key {REDACTED} end",
        "Authorization: Bearer abc.def-123": f"Authorization: {REDACTED}",
        '{"authorization": "Basic dXNlcjpwYXNz"}': f'{{"authorization": "{REDACTED}"}}',
        "curl -H 'bearer eyJhbGciOi.x.y'": f"curl -H 'bearer {REDACTED}'",
        "pw=hunter2-literal;": f"pw={REDACTED};",
        "sk-short": "sk-short",  # too short to be a key
        "no secrets here": "no secrets here",
    }
    for given, expected in cases.items():
        assert r(given) == expected
    assert r.value({"Bearer tok_123456": ["x sk-abcdefgh1234"], "n": 3}) == {
        f"Bearer {REDACTED}": [f"x {REDACTED}"],
        "n": 3,
    }


def test_keys_never_reach_the_store_files(agent_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("WEATHER_SERVICE_TOKEN", "plainvalue-no-prefix-77")
    events = [
        ev.SessionStarted(ts=at(0), agent="triage", metadata={"api_key": SECRET, "header": f"Bearer {SECRET}"}),
        ev.TurnStarted(ts=at(1), turn=1, input=f"my key is {SECRET}", agent="triage"),
        ev.AgentStarted(ts=at(2), agent="triage"),
        ev.ToolCallStarted(ts=at(3), agent="triage", call_id="c", name="http", arguments=f'{{"auth": "{SECRET}"}}'),
        ev.ToolCallFinished(
            ts=at(4),
            agent="triage",
            call_id="c",
            name="http",
            output="Authorization: Bearer plainvalue-no-prefix-77",
            error=f"401 for key {SECRET}",
        ),
        ev.Notice(ts=at(5), message=f"retrying with {SECRET}"),
        ev.ErrorEvent(ts=at(6), message=f"model said: invalid api key {SECRET}"),
        ev.AgentFinished(ts=at(7), agent="triage"),
        ev.TurnDone(ts=at(8), turn=1, output={"echo": SECRET}),
    ]
    recorder = open_recorder(kind="chat", workflow="triage", group_id=f"s-{SECRET}", metadata={"k": SECRET})
    assert recorder is not None
    for event in events:
        recorder.on_event(event)
    # while the recorder is open the data lives in the -wal file: look at every file, byte by byte
    files = _db_files(agent_home)
    assert any(p.name.endswith("-wal") for p in files)
    for blob in [p.read_bytes() for p in files]:
        assert b"SECRET123" not in blob and b"plainvalue-no-prefix-77" not in blob
    recorder.close("error", f"failed with {SECRET}")
    for blob in [p.read_bytes() for p in _db_files(agent_home)]:
        assert b"SECRET123" not in blob and b"plainvalue-no-prefix-77" not in blob
    doc = stored(recorder.trace_id)
    assert find(doc, "turn")["data"]["input"] == f"my key is {REDACTED}"
    assert find(doc, "function")["data"]["output"] == f"Authorization: {REDACTED}"
    assert doc["trace"]["metadata"]["k"] == REDACTED and doc["trace"]["group_id"] == f"s-{REDACTED}"
    assert doc["trace"]["error"] == f"failed with {REDACTED}"


def _write_trace(worker: int, turns: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait(timeout=30)
    recorder = open_recorder(kind="chat", workflow=f"worker{worker}")
    assert recorder is not None
    recorder.on_event(ev.SessionStarted(agent=f"worker{worker}"))
    for turn in range(1, turns + 1):
        for event in chat_turn(turn=turn, t=turn * 100):
            recorder.on_event(event)
    recorder.on_event(ev.SessionEnded())
    recorder.close()
    os._exit(0)  # skip pytest's atexit machinery in the forked child


def test_eight_processes_writing_at_once_lose_nothing(agent_home: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(8)
    turns = 15
    procs = [ctx.Process(target=_write_trace, args=(i, turns, barrier)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * 8
    store = TraceStore.open()
    traces = list_traces(store, limit=100)
    assert sorted(t["workflow"] for t in traces) == [f"worker{i}" for i in range(8)]
    for t in traces:
        assert (t["status"], t["turns"], t["span_count"], t["input_tokens"]) == (
            "ok",
            turns,
            turns * 5,
            turns * 30,
        )
    (spans,) = store.conn.execute("SELECT count(*) FROM spans").fetchone()
    assert spans == 8 * turns * 5
    store.close()


CRASHER = textwrap.dedent(
    """
    import os, signal
    from agentcli import events as ev
    from agentcli.tracing import open_recorder
    r = open_recorder(kind="chat", workflow="crasher")
    r.on_event(ev.SessionStarted(agent="crasher"))
    r.on_event(ev.TurnStarted(turn=1, input="hi"))
    r.on_event(ev.AgentStarted(agent="crasher"))
    r.on_event(ev.GenerationStarted(agent="crasher", model="m"))
    r.on_event(ev.GenerationDone(agent="crasher", model="m", output="calling a tool"))
    r.on_event(ev.ToolCallStarted(agent="crasher", call_id="c1", name="fast"))
    r.on_event(ev.ToolCallFinished(agent="crasher", call_id="c1", name="fast", output="done"))
    r.on_event(ev.ToolCallStarted(agent="crasher", call_id="c2", name="slow"))
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_killed_run_keeps_its_finished_spans_and_shows_unfinished(agent_home: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CRASHER], env=dict(os.environ), timeout=30)
    assert proc.returncode == -signal.SIGKILL
    doc = stored()
    assert doc["trace"]["status"] == "unfinished"
    assert (doc["trace"]["end"], doc["trace"]["duration_ms"]) == (None, None)
    assert sorted((s["kind"], s["name"]) for s in doc["spans"]) == [("function", "fast"), ("generation", "m")]
    ids = {s["span_id"] for s in doc["spans"]}
    assert all(s["parent_id"] and s["parent_id"] not in ids for s in doc["spans"])  # their agent was in flight
    # the store still opens and takes new runs
    record([ev.SessionStarted(), ev.TurnStarted(turn=1), ev.TurnDone(turn=1), ev.SessionEnded()])
    store = TraceStore.open()
    assert [t["status"] for t in list_traces(store)] == ["ok", "unfinished"]
    store.close()


def test_opening_a_recorder_touches_nothing_heavy(agent_home: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import typer
        before = set(sys.modules)
        import agentcli.cli.trace_cmd
        from agentcli.tracing import open_recorder
        recorder = open_recorder(kind="chat", workflow="x")
        heavy = ("sqlite3", "rich", "pydantic", "yaml", "openai", "numpy", "sounddevice")
        print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in heavy))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[]\n", "")
    assert not (agent_home / "traces.db").exists()  # the store opens with the first event
