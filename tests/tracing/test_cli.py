"""`agent trace list/show/export/prune` through typer's CliRunner (not a TTY: plain output)."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentcli import events as ev
from agentcli.cli.trace_cmd import app
from agentcli.tracing.store import TraceStore

from .helpers import at, chat_turn, record, stored

runner = CliRunner()
ID_A = "abcd1111" + "0" * 24
ID_B = "abcd2222" + "0" * 24
ID_C = "ef" + "1" * 30


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def three_traces() -> dict[str, dict]:
    """Two old traces (2023) of `triage`, one of them failed, and a fresh one of `helper`."""
    a = record([ev.SessionStarted(ts=at(0)), *chat_turn(t=1), ev.SessionEnded(ts=at(40))], trace_id=ID_A)
    b = record(
        [
            ev.SessionStarted(ts=at(1000)),
            ev.TurnStarted(ts=at(1001), turn=1, input="boom"),
            ev.ErrorEvent(ts=at(1002), message="model server failed: HTTP 500", kind="model"),
            ev.TurnDone(ts=at(1003), turn=1, status="error", error="model server failed: HTTP 500"),
            ev.SessionEnded(ts=at(1004), status="error", error="model server failed: HTTP 500"),
        ],
        trace_id=ID_B,
    )
    now = time.time()
    c = record(
        [
            ev.SessionStarted(ts=now - 1, agent="helper"),
            ev.TurnStarted(ts=now - 0.9, turn=1, input="hi"),
            ev.TurnDone(ts=now - 0.5, turn=1),
            ev.SessionEnded(ts=now),
        ],
        trace_id=ID_C,
        workflow="helper",
        kind="voice",
    )
    return {"a": a, "b": b, "c": c}


def test_list_with_no_store_yet() -> None:
    assert invoke("list") == (0, "no traces recorded yet\n", "")
    assert invoke("list", "--json") == (0, "[]\n", "")


def test_list_plain_table_newest_first(three_traces: dict) -> None:
    code, out, _ = invoke("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "WHEN", "AGENT", "KIND", "DURATION", "TURNS", "TOKENS", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == ["ef111111", "abcd2222", "abcd1111"]
    row_a = lines[3].split()
    assert row_a[3:] == ["triage", "chat", "40", "ms", "1", "35", "ok"]
    assert lines[2].split()[-1] == "error" and lines[1].split()[3:5] == ["helper", "voice"]
    assert "\x1b[" not in out


def test_list_json_and_filters(three_traces: dict) -> None:
    code, out, _ = invoke("list", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["trace_id"] for r in rows] == [ID_C, ID_B, ID_A]
    assert rows[2] == three_traces["a"]["trace"]
    assert list(rows[0]) == [
        "trace_id", "short_id", "workflow", "kind", "group_id", "metadata", "content", "start", "end",
        "duration_ms", "status", "error", "turns", "input_tokens", "output_tokens", "span_count",
        "error_count",
    ]  # fmt: skip
    ids = lambda *args: [r["trace_id"] for r in json.loads(invoke("list", "--json", *args)[1])]  # noqa: E731
    assert ids("--agent", "triage") == [ID_B, ID_A]
    assert ids("--errors") == [ID_B]
    assert ids("--since", "1h") == [ID_C]
    assert ids("--limit", "1") == [ID_C]
    assert ids("--agent", "nobody") == []
    assert invoke("list", "--agent", "nobody") == (0, "no traces match\n", "")


def test_list_rejects_a_bad_since() -> None:
    code, _, err = invoke("list", "--since", "yesterday")
    assert code == 2 and err == "agent: error: --since: expected a duration like 30m, 1h, 2d or 1w, got 'yesterday'\n"


def test_show_json_round_trips_the_store(three_traces: dict) -> None:
    code, out, _ = invoke("show", "abcd1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc == three_traces["a"] == stored(ID_A)
    assert list(doc) == ["trace", "spans"]
    assert set(doc["spans"][0]) == {
        "span_id", "parent_id", "kind", "name", "start", "end", "duration_ms", "status", "error", "data",
    }  # fmt: skip
    assert json.loads(invoke("show", "--json")[1])["trace"]["trace_id"] == ID_C  # latest by default
    assert json.loads(invoke("show", "latest", "--json")[1])["trace"]["trace_id"] == ID_C
    assert json.loads(invoke("show", ID_B.upper(), "--json")[1])["trace"]["trace_id"] == ID_B


def test_prefix_ids_like_git(three_traces: dict) -> None:
    code, _, err = invoke("show", "abcd")
    assert code == 2 and "ambiguous trace id 'abcd': matches abcd11110000, abcd22220000" in err
    code, _, err = invoke("show", "0123")
    assert (code, err) == (1, "agent: error: no trace matches '0123'\n")
    code, _, err = invoke("show", "not-hex!")
    assert (code, err) == (1, "agent: error: no trace matches 'not-hex!'\n")
    assert invoke("show", "e")[0] == 0


def test_show_without_traces() -> None:
    assert invoke("show") == (1, "", "agent: error: no traces recorded yet\n")


def test_show_plain_tree_and_waterfall(three_traces: dict) -> None:
    code, out, _ = invoke("show", "abcd1")
    assert code == 0 and "\x1b[" not in out
    lines = out.splitlines()
    assert lines[0].startswith("trace abcd1111  triage (chat)  2023-11-1") and lines[0].endswith("  40 ms  ok")
    assert lines[1] == "1 turns  30+5 tokens  5 spans"
    tree = [re.split(r"\s{2,}[\d.]+ m?s\s", line)[0] for line in lines[4:]]
    assert tree == [
        'turn 1  "hi"',
        "├─ guardrail no_secrets  input: passed",
        "└─ agent triage",
        "   ├─ generation gpt-test  30+5 tok  ttft 7.00 ms",
        "   └─ guardrail no_numbers  output: passed",
    ]
    assert max(len(line) for line in lines) <= 100
    # bars share one axis: the 40 ms trace starts at column 0 of the bar area
    axis = lines[3].index("0   ")
    bar_area = 100 - axis
    turn_bar = lines[4][axis:]
    gen_bar = lines[7][axis:]
    assert turn_bar.startswith(" " * int(1 / 40 * bar_area)) and "█" in turn_bar
    assert gen_bar.index("█") == int(4 / 40 * bar_area)
    assert len(gen_bar.strip()) == round(21 / 40 * bar_area) - int(4 / 40 * bar_area)


def test_show_marks_errors_and_unfinished_runs(three_traces: dict) -> None:
    out = invoke("show", "abcd2")[1]
    assert "error: model server failed: HTTP 500" in out
    assert 'turn 1  "boom"  ✗ model server failed: HTTP 500' in out
    store = TraceStore.open()
    store.conn.execute("UPDATE traces SET ended = NULL, status = NULL WHERE trace_id = ?", (ID_A,))
    store.close()
    # this process recorded it and is alive: running
    assert invoke("show", "abcd1")[1].splitlines()[0].endswith("running")
    store = TraceStore.open()
    store.conn.execute("UPDATE traces SET pid = 0 WHERE trace_id = ?", (ID_A,))
    store.close()
    out = invoke("show", "abcd1")[1]
    assert out.splitlines()[0].endswith("unfinished")
    assert "unfinished: the run stopped without recording its end" in out


def test_show_content_off_shows_sizes() -> None:
    record(
        [ev.TurnStarted(ts=at(0), turn=1, input="private words"), ev.TurnDone(ts=at(1), turn=1)],
        content=False,
    )
    out = invoke("show")[1]
    assert "turn 1  (13 chars)" in out and "(content not recorded)" in out and "private" not in out


def test_export_json_matches_show_and_writes_a_private_file(three_traces: dict, tmp_path: Path) -> None:
    assert invoke("export", "abcd1")[1] == invoke("show", "abcd1", "--json")[1]
    target = tmp_path / "t.json"
    code, out, err = invoke("export", "abcd2", "--format", "otlp", "-o", str(target))
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    otlp = json.loads(target.read_text())
    assert otlp["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == ID_B
    code, _, err = invoke("export", "abcd2", "--format", "xml")
    assert code == 2 and "xml" in err


def test_prune_deletes_old_traces_and_their_spans(three_traces: dict) -> None:
    assert invoke("prune", "--older-than", "30d") == (0, "pruned 2 traces\n", "")
    assert [r["trace_id"] for r in json.loads(invoke("list", "--json")[1])] == [ID_C]
    store = TraceStore.open()
    assert store.conn.execute("SELECT DISTINCT trace_id FROM spans").fetchall() == [(ID_C,)]
    store.close()
    assert invoke("prune", "--older-than", "30d") == (0, "pruned 0 traces\n", "")
    code, _, err = invoke("prune", "--older-than", "soon")
    assert code == 2 and "--older-than: expected a duration" in err


def test_prune_without_a_store() -> None:
    assert invoke("prune", "--older-than", "1d") == (0, "pruned 0 traces\n", "")
    assert not (Path(os.environ["AGENT_HOME"]) / "traces.db").exists()


def test_colour_output_is_the_plain_output_plus_ansi(three_traces: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = invoke("show", "abcd2")[1]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr("agentcli.cli.trace_cmd._color", lambda: True)
    coloured = invoke("show", "abcd2")[1]
    assert "\x1b[1;31m" in coloured  # the failed turn in bold red
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    listed = invoke("list")[1]
    assert "\x1b[" in listed and "abcd2222" in listed


def test_show_a_trace_with_no_spans() -> None:
    record([ev.SessionStarted(ts=at(0)), ev.SessionEnded(ts=at(2))])
    code, out, _ = invoke("show")
    assert code == 0 and "0 turns  0+0 tokens  0 spans" in out
