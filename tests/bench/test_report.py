"""The bench report's logic: verdicts, reading other bench scripts' output, the README section."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import Stats, ratios
from bench.report import Row, Target, markdown, pick, read_bench_output, to_json, update_readme, verdict

TRACE_TABLE = """benchmark                                        median   target  ok
agent --help (startup floor)                    0.109 s
agent trace show (10,000 spans)                 0.431 s    0.5 s  yes
agent trace show --json (10,000 spans)          0.396 s
recorder overhead per chat turn (12 events)    0.397 ms     5 ms  yes
  in process: load 10,000 spans                 59.8 ms
"""

META = {"command": "python bench/run.py", "seconds": 12.0, "peer": "0.24.0 3.52.0",
        "machine": {"cpu": "CPU", "cores": 2, "os": "Linux", "python": "3.11.7", "openai": "3.52.0", "date": "d"}}


def test_stats_and_ratios_pair_rounds_in_order() -> None:
    s = Stats.of([3.0, 1.0, 2.0])
    assert (s.median, s.low, s.high, s.n) == (2.0, 1.0, 3.0, 3)
    assert ratios([1.0, 4.0], [2.0, 2.0]) == [0.5, 2.0]
    with pytest.raises(ValueError):
        ratios([1.0], [1.0, 2.0])


def test_verdict_says_by_how_much_a_target_is_missed() -> None:
    row = Row("1", "start", "s", Stats.of([0.3]), Stats.of([3.0]), Stats.of([0.1]), Target(abs=0.15, ratio=0.2))
    ok, misses = verdict(row)
    assert ok is False and misses == ["0.15 s over (2.0x)"]
    row.ours = Stats.of([0.1])
    assert verdict(row) == (True, [])
    row.ratio = Stats.of([0.5])
    assert verdict(row)[1] == ["ratio 0.5 vs 0.2 (2.5x)"]
    assert verdict(Row("2", "no target", "ms", Stats.of([1.0]))) == (None, [])
    assert verdict(Row("5", "not measured", "ms", None, target=Target(abs=60))) == (None, [])


def test_reads_a_printed_table_and_converts_units() -> None:
    data = read_bench_output(TRACE_TABLE)
    show = pick(data, "trace show", "10000", unit="s", exclude=("json",))
    assert show is not None and show.median == pytest.approx(0.431)
    assert pick(data, "trace show", "10000", unit="s").median == pytest.approx(0.431)  # the first match
    assert pick(data, "trace show json", unit="s").median == pytest.approx(0.396)
    assert pick(data, "recorder overhead", unit="ms").median == pytest.approx(0.397)
    assert pick(data, "recorder overhead", unit="s").median == pytest.approx(0.000397)
    assert pick(data, "no such row") is None


def test_reads_json_stats_in_any_common_shape() -> None:
    data = read_bench_output('{"barge_in_ms": {"median": 12.5, "min": 10, "max": 20, "n": 5},'
                             ' "first audio": {"median_s": 0.02, "max_s": 0.03}, "rss_growth_mb": 3.5,'
                             ' "samples": {"x_ms": [1, 2, 3]}}')
    barge = pick(data, "barge", unit="ms")
    assert (barge.median, barge.low, barge.high, barge.n) == (12.5, 10, 20, 5)
    assert pick(data, "first", "audio", unit="ms").high == pytest.approx(30.0)
    assert pick(data, "rss", unit="MB").median == 3.5
    assert pick(data, "samples x", unit="ms").median == 2
    assert pick({"trace_show_10000_spans_s": 0.3, "trace_show_json_10000_spans_s": 0.2}, "trace show", "10000",
                exclude=("json",)).median == 0.3


def test_markdown_and_json_carry_every_row_and_the_machine() -> None:
    rows = [Row("1", "CLI start", "s", Stats.of([0.1, 0.12]), Stats.of([1.0, 1.2]), Stats.of([0.1, 0.1]),
                Target(abs=0.15, ratio=0.2)),
            Row("2", "  sub row", "ms", Stats.of([5.0]), note="a note")]
    text = markdown(rows, META, ["a caveat"])
    assert "| 1 | CLI start | 0.11 s (0.1–0.12) | 1.1 s (1–1.2) | 0.1 | ≤ 0.15 s, ratio ≤ 0.2 | yes |" in text
    assert "↳ sub row (a note)" in text and "- a caveat" in text and "openai-agents 0.24.0" in text
    assert "`python bench/run.py`" in text and "CPU, 2 cores" in text
    data = to_json(rows, META, [])
    assert data["rows"][0]["met"] is True and data["rows"][1]["met"] is None
    assert data["rows"][0]["agentcli"]["samples"] == [0.1, 0.12]


def test_update_readme_replaces_only_between_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n## Performance\n<!-- perf:begin -->\nold\n<!-- perf:end -->\nafter\n")
    update_readme(readme, "new table\n")
    assert readme.read_text() == "# x\n## Performance\n<!-- perf:begin -->\nnew table\n<!-- perf:end -->\nafter\n"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        update_readme(readme, "t")
