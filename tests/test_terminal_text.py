"""The terminal-text sanitizer (issue 12): escape sequences and controls from a model, a tool or a
server never reach a terminal or plain stdout; --json/--jsonl keep the exact text, JSON-escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.terminal_text import (
    clean,
    clean_event,
    clean_markup,
    clean_value,
    escape_markup,
    json_inert,
    show_controls,
)

from .conftest import run_agent

ESC = "\x1b"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"{ESC}[2J{ESC}[Hhello", "hello"),  # clear screen, cursor home
        (f"{ESC}[1;31mred{ESC}[0m text", "red text"),  # SGR colours
        (f"{ESC}[?1049h{ESC}[?25l", ""),  # private modes: alternate screen, hide cursor
        (f"{ESC}]0;pwned{ESC}\\title", "title"),  # OSC set title, ST-terminated
        (f"{ESC}]2;pwned\x07after", "after"),  # OSC, BEL-terminated
        (f"{ESC}]8;;https://evil.test{ESC}\\click{ESC}]8;;{ESC}\\", "click"),  # OSC 8 hyperlink
        (f"{ESC}]52;c;cm0gLXJm\x07x", "x"),  # OSC 52: write the clipboard
        (f"{ESC}P1$qm{ESC}\\dcs", "dcs"),  # DCS request
        (f"{ESC}_apc{ESC}\\{ESC}^pm{ESC}\\{ESC}Xsos{ESC}\\end", "end"),  # APC, PM, SOS
        (f"{ESC}cRIS", "RIS"),  # full reset
        (f"{ESC}(0line", "line"),  # charset designation (ESC intermediate final)
        ("\x9b2J8-bit", "8-bit"),  # 8-bit CSI
        ("\x9d0;t\x9ckept", "kept"),  # 8-bit OSC ... ST
        ("a\x85b\x8dc", "abc"),  # other C1 controls (NEL, RI)
        ("bell\x07 bs\x08 vt\x0b ff\x0c nul\x00 del\x7f", "bell bs vt ff nul del"),
        ("line one\r\nline two\rover", "line one\nline twoover"),  # CR cannot overwrite a line
        ("tabs\tand\nnewlines stay", "tabs\tand\nnewlines stay"),
        ("ünïcödé ✓ 日本語 🙂 \u00a0nbsp", "ünïcödé ✓ 日本語 🙂 \u00a0nbsp"),
        (f"{ESC}]0;no terminator\nnext line", "\nnext line"),  # an unterminated OSC stops at the line end
        (f"half{ESC}", "half"),  # a sequence cut at a chunk boundary: the ESC goes, the tail is text
        (f"{ESC}[", ""),
    ],
)
def test_clean(raw: str, shown: str) -> None:
    assert clean(raw) == shown
    assert clean(clean(raw)) == clean(raw)  # idempotent


def test_nothing_dangerous_survives_any_control_character() -> None:
    every = "".join(chr(c) for c in range(0x00, 0xA0)) + "".join(chr(c) for c in range(0xA0, 0x300))
    out = clean(every * 3)
    assert not [c for c in out if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def test_split_sequence_loses_its_escape() -> None:
    # streamed in two deltas: each is cleaned on its own, and no ESC byte survives either
    first, second = clean(f"ok {ESC}"), clean("[2Jrest")
    assert ESC not in first + second and (first + second).endswith("rest")


def test_clean_text_is_returned_as_is() -> None:
    text = "plain answer\nwith two lines"
    assert clean(text) is text


def test_show_controls_writes_them_out() -> None:
    assert show_controls(f"bad {ESC}]0;x\x07 \x9b\r\tok\n") == "bad \\x1b]0;x\\x07 \\x9b\\x0d\tok\n"
    text = "nothing to show"
    assert show_controls(text) is text


def test_escape_markup() -> None:
    assert escape_markup("[bold red]boo[/] and \\[x]") != "[bold red]boo[/] and \\[x]"
    from rich.console import Console

    console = Console(record=True, width=80, color_system=None)
    console.print(clean_markup(f"[link=https://evil.test]hi[/link] {ESC}[31m[blink]x"))
    assert console.export_text().strip() == "[link=https://evil.test]hi[/link] [blink]x"
    assert escape_markup("no brackets") == "no brackets"


def test_clean_value_and_event() -> None:
    assert clean_value({"k\x1b": [f"{ESC}[1mA", ("b\x07", 3)], "n": None}) == {"k": ["A", ("b", 3)], "n": None}
    delta = ev.TextDelta(agent="a", delta=f"{ESC}]0;x\x07hi")
    cleaned = clean_event(delta)
    assert cleaned.delta == "hi" and cleaned.agent == "a" and cleaned.ts == delta.ts
    assert delta.delta == f"{ESC}]0;x\x07hi"  # the original event is not mutated (other consumers keep it)
    done = ev.ToolCallFinished(agent="a", call_id="c", name="t", output="x", error=f"{ESC}[2Jboom")
    assert clean_event(done).error == "boom"
    same = ev.TextDelta(agent="a", delta="fine")
    assert clean_event(same) is same


def test_json_inert_keeps_the_exact_value() -> None:
    value = {"text": f"{ESC}[2J\x9b31m\x85\u2028ok\x7f"}
    dumped = json_inert(json.dumps(value, ensure_ascii=False))
    assert json.loads(dumped) == value
    assert not [c for c in dumped if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029"]


HOSTILE = f"{ESC}[2J{ESC}]0;pwned\x07Hello{ESC}[31m red\x9b0m\x07!"


@pytest.fixture
def hostile_script(tmp_path: Path) -> Path:
    script = tmp_path / "script.yaml"
    answer = json.dumps(HOSTILE)  # JSON strings are YAML double-quoted strings
    script.write_text(f"turns:\n  - match: '.*'\n    reply:\n      - text: {answer}\n", encoding="utf-8")
    return script


def test_plain_stdout_is_clean(hostile_script: Path) -> None:
    result = run_agent("chat", "--sim-script", str(hostile_script), "-m", "hi", "--no-trace")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello red!\n"


def test_json_and_jsonl_keep_the_exact_text_escaped(hostile_script: Path) -> None:
    result = run_agent("chat", "--sim-script", str(hostile_script), "-m", "hi", "--no-trace", "--json")
    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout and "\x9b" not in result.stdout
    assert json.loads(result.stdout)["output"] == HOSTILE
    result = run_agent("chat", "--sim-script", str(hostile_script), "-m", "hi", "--no-trace", "--jsonl")
    assert ESC not in result.stdout and "\x9b" not in result.stdout
    deltas = [e["delta"] for e in map(json.loads, result.stdout.splitlines()) if e["type"] == "text_delta"]
    assert "".join(deltas) == HOSTILE


def test_approval_question_shows_escapes_instead_of_running_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import sys

    from agentcli.app.approval import make_approver

    asked: list[str] = []

    async def ask(question: str) -> str:
        asked.append(question)
        return "n"

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    approve = make_approver(False, ask)
    # C1 CSI passes json.loads (only C0 is refused inside JSON strings), so it could reach the prompt
    assert asyncio.run(approve("rm", '{"path": "\x9b2K\x9b1Gsafe.txt", "real": "/"}')) is False
    (question,) = asked
    assert "\x9b" not in question and "\\x9b2K\\x9b1Gsafe.txt" in question
