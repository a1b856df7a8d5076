"""A turn's final answer: the output guardrails may replace it, then an agent's output_type parses and
validates it. The runner calls this once per turn, after the last model call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentcli.errors import AgentCliError
from agentcli.events import Event
from agentcli.runtime.guardrails import GuardrailCheck, Verdict, run_checks
from agentcli.runtime.schema_check import validate
from agentcli.spec.model import AgentSpec


class TurnFailed(AgentCliError):
    """The final answer broke the agent's output_type."""


@dataclass
class Answer:
    text: str
    events: list[Event] = field(default_factory=list)  # the output guardrail checks


async def final_answer(checks: list[GuardrailCheck], agent: AgentSpec, text: str) -> tuple[Answer, Any]:
    """Output guardrails, then output_type parsing and validation. Returns (answer, output)."""
    answer = Answer(text)
    verdicts: list[Verdict] = []
    async for event in run_checks(checks, text, agent.name, verdicts):
        answer.events.append(event)
    if verdicts:
        answer.text = verdicts[0].message or ""
        return answer, answer.text
    if agent.output_type is None:
        return answer, text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as e:
        raise TurnFailed(f"the answer is not JSON as output_type requires: {e.msg} at char {e.pos}") from None
    problems = validate(parsed, agent.output_type)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise TurnFailed("the answer does not match output_type: " + "; ".join(problems[:3]) + more)
    return answer, parsed
