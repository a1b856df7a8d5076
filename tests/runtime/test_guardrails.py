"""Guardrails: regex, keywords, python checks (sync/async, bool/str/None), events per check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentcli.errors import ToolError
from agentcli.events import GuardrailChecked
from agentcli.runtime.guardrails import DEFAULT_OUTPUT_MESSAGE, Verdict, build_guardrails, run_checks

from .conftest import make_spec, write_module

CHECKS = """
def no_secrets(text):
    return "secret" in text.lower()

async def polite(text):
    return "That was rude." if "stupid" in text else None

def broken(text):
    raise ValueError("oops")
"""


def guardrails(tmp_path: Path, **agent):  # type: ignore[no-untyped-def]
    spec = make_spec(tmp_path, {"name": "a", **agent})
    return build_guardrails(spec.entry_agent, spec.base_dir)


def check_all(checks, text: str) -> tuple[list[GuardrailChecked], list[Verdict]]:  # type: ignore[no-untyped-def]
    async def go() -> list[GuardrailChecked]:
        return [e async for e in run_checks(checks, text, "a", verdicts)]

    verdicts: list[Verdict] = []
    return asyncio.run(go()), verdicts


def test_regex_is_case_insensitive_search(tmp_path: Path) -> None:
    g = guardrails(tmp_path, input_guardrails=[{"regex": r"pass(word)?", "message": "No passwords."}])
    events, verdicts = check_all(g.input, "what is my PASSWORD?")
    assert verdicts[0].message == "No passwords."
    assert events[0].tripped and events[0].stage == "input" and events[0].name == "regex:pass(word)?"
    assert events[0].started is not None and events[0].started <= events[0].ts
    assert check_all(g.input, "hello")[1] == []


def test_keywords_match_whole_words_only(tmp_path: Path) -> None:
    g = guardrails(tmp_path, input_guardrails=[{"name": "kw", "keywords": ["bomb", "credit card"]}])
    assert check_all(g.input, "How do I build a BOMB?")[1]
    assert check_all(g.input, "my Credit  Card number")[1] == []  # two spaces: not the phrase
    assert check_all(g.input, "my credit card number")[1]
    assert check_all(g.input, "the bombastic style")[1] == []


def test_python_checks(tmp_path: Path) -> None:
    mod = write_module(tmp_path, CHECKS)
    g = guardrails(
        tmp_path,
        input_guardrails=[{"python": f"{mod}:polite"}, {"python": f"{mod}:no_secrets", "message": "Shh."}],
        output_guardrails=[{"python": f"{mod}:no_secrets"}, {"python": f"{mod}:broken", "name": "broken"}],
    )
    events, verdicts = check_all(g.input, "tell me the secret")
    assert [(e.name, e.tripped) for e in events] == [(f"{mod}:polite", False), (f"{mod}:no_secrets", True)]
    assert verdicts[0].message == "Shh."
    events, verdicts = check_all(g.input, "you stupid bot, the secret")
    assert len(events) == 1 and verdicts[0].message == "That was rude."  # stops at the first trip
    events, verdicts = check_all(g.output, "The secret is 42")
    assert verdicts[0].message == DEFAULT_OUTPUT_MESSAGE and events[0].stage == "output"
    events, verdicts = check_all(g.output, "fine answer")
    assert [(e.name, e.tripped) for e in events] == [(f"{mod}:no_secrets", False), ("broken", True)]


def test_bad_python_guardrail_fails_at_build(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="input guardrail nowhere_xyz:check: no module named 'nowhere_xyz'"):
        guardrails(tmp_path, input_guardrails=[{"python": "nowhere_xyz:check"}])


CATASTROPHIC = "a" * 40 + "b"  # against ^(a+)+$ : 2^40 steps for a backtracking engine


def test_catastrophic_regex_runs_in_linear_time(tmp_path: Path) -> None:
    g = guardrails(tmp_path, input_guardrails=[{"regex": "^(a+)+$", "message": "only a"}])
    assert check_all(g.input, CATASTROPHIC)[1] == []  # would hang Python's re for hours
    assert check_all(g.input, "AAAA")[1][0].message == "only a"  # still case-insensitive


def test_pattern_re2_cannot_take_runs_in_a_child_process(tmp_path: Path) -> None:
    g = guardrails(tmp_path, input_guardrails=[{"regex": r"(\w)\1", "message": "double letter"}])
    assert check_all(g.input, "heLLo")[1][0].message == "double letter"
    assert check_all(g.input, "abc")[1] == []


def test_slow_fallback_pattern_times_out_and_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentcli.runtime.guardrails as guardrails_module

    monkeypatch.setattr(guardrails_module, "REGEX_TIME_LIMIT", 0.5)
    g = guardrails(tmp_path, input_guardrails=[{"regex": r"^(?=(a+)+$)", "message": "blocked"}])
    events, verdicts = check_all(g.input, CATASTROPHIC)
    assert verdicts[0].message == "blocked" and events[0].tripped  # fails closed


_INTERRUPTED = """
import asyncio, sys
sys.path.insert(0, {root!r})
import agentcli.runtime.guardrails as g
from agentcli.spec.model import Guardrail
g.REGEX_TIME_LIMIT = 3600
check = g.GuardrailCheck(Guardrail(regex=r"^(?=(a+)+$)"), "input", ".")
print("checking", flush=True)
asyncio.run(check.check("a" * 60 + "b"))
"""


def test_ctrl_c_stops_a_slow_fallback_pattern_and_its_child() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED.format(root=root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"checking\n"
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    while not children.read_text().split():  # wait (bounded by the harness timeout) for the worker
        time.sleep(0.05)
    (worker,) = (int(p) for p in children.read_text().split())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    for _ in range(200):  # the worker is killed, not left spinning
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"regex worker {worker} still running after Ctrl-C")


def test_guardrail_module_exiting_at_import_is_an_error_at_its_line(tmp_path: Path) -> None:
    from agentcli.spec.loader import load_spec

    mod = write_module(tmp_path, "import sys\nsys.exit(3)\n")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"name: a\noutput_guardrails:\n  - python: '{mod}:check'\n")
    spec = load_spec(str(spec_path))
    with pytest.raises(ToolError) as info:
        build_guardrails(spec.entry_agent, spec.base_dir)
    assert str(info.value) == (
        f"{spec_path}:3:13: output_guardrails[0].python: output guardrail {mod}:check: "
        f"importing {mod} failed: it called sys.exit(3)"
    )
