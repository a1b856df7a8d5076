"""Which settings a model family takes: the settings it does not are dropped (with one notice) rather than
sent, since the real API answers 400 for such pairs.

| family (name prefix)            | reasoning | temperature/top_p | reasoning_effort values           |
|---------------------------------|-----------|-------------------|-----------------------------------|
| o1, o3, o4                      | yes       | no                | low, medium, high                 |
| gpt-5 (gpt-5, -mini, -nano)     | yes       | no                | minimal, low, medium, high        |
| gpt-5.1                         | yes       | no                | none, low, medium, high           |
| gpt-5.2 and later gpt-5.x       | yes       | no                | none, low, medium, high, xhigh    |
| gpt-5-chat, gpt-4*, chatgpt-4o* | no        | yes               | (not taken)                       |
| gpt-3.5*                        | no        | yes               | (not taken)                       |

Any other name (local servers, fine-tunes "ft:gpt-4o...", unknown families) gets every setting as given.
Reasoning families also get `include: ["reasoning.encrypted_content"]` when nothing is stored server-side,
so their reasoning items can be passed back between tool rounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    reasoning: bool
    efforts: frozenset[str] = frozenset()


_LOW_HIGH = frozenset({"low", "medium", "high"})
_O = Family("o-series", True, _LOW_HIGH)
_GPT5 = Family("gpt-5", True, _LOW_HIGH | {"minimal"})
_GPT51 = Family("gpt-5.1", True, _LOW_HIGH | {"none"})
_GPT52 = Family("gpt-5.2+", True, _LOW_HIGH | {"none", "xhigh"})
_CHAT = Family("non-reasoning", False)

# (pattern on the lower-cased name, family); the first match wins
_TABLE: list[tuple[re.Pattern[str], Family]] = [
    (re.compile(r"^o[134](?![0-9])"), _O),
    (re.compile(r"^gpt-5-chat"), _CHAT),
    (re.compile(r"^gpt-5\.1(?![0-9])"), _GPT51),
    (re.compile(r"^gpt-5\.[2-9]"), _GPT52),
    (re.compile(r"^gpt-5(?![0-9.])"), _GPT5),
    (re.compile(r"^(gpt-4|chatgpt-4o|gpt-3\.5)"), _CHAT),
]


def family_of(model: str) -> Family | None:
    """The model's family, or None when the name is not one we know (then nothing is dropped)."""
    name = model.strip().lower()
    if name.startswith("openai/"):  # proxies (LiteLLM, OpenRouter) prefix the vendor
        name = name[len("openai/") :]
    for pattern, family in _TABLE:
        if pattern.match(name):
            return family
    return None


def unsupported(model: str, settings: dict[str, object]) -> dict[str, str]:
    """{setting: why} for the settings (name -> value, None = unset) this model does not take."""
    family = family_of(model)
    if family is None:
        return {}
    out: dict[str, str] = {}
    if family.reasoning:
        for name in ("temperature", "top_p"):
            if settings.get(name) is not None:
                out[name] = f"{model} is a reasoning model and does not take {name}"
    effort = settings.get("reasoning_effort")
    if effort is not None:
        if not family.reasoning:
            out["reasoning_effort"] = f"{model} is not a reasoning model and does not take reasoning_effort"
        elif effort not in family.efforts:
            allowed = ", ".join(sorted(family.efforts))
            out["reasoning_effort"] = f"{model} does not take reasoning_effort {effort} (it takes {allowed})"
    return out


def is_reasoning(model: str) -> bool:
    family = family_of(model)
    return family is not None and family.reasoning
