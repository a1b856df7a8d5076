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
