"""`${ENV_VAR}` in spec string values; `$${` writes a literal `${`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcli.spec.positions import Loc

_MAX_DEPTH = 200
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


@dataclass
class Interpolated:
    data: Any
    problems: list[tuple[Loc, str]] = field(default_factory=list)
    # Paths whose value came (partly) from the environment: error messages must not echo them,
    # since the value may be a secret.
    from_env: set[Loc] = field(default_factory=set)


def _expand(text: str, loc: Loc, env: Mapping[str, str], out: Interpolated) -> str:
    if "$" not in text:
        return text
    used_env = False

    def repl(m: re.Match[str]) -> str:
        nonlocal used_env
        token = m.group(0)
        if token == "$${":
            return "${"
        var = m.group(1)
        if var is None:
            out.problems.append((loc, "bad ${...}: write ${NAME} for a variable, or $${ for a literal ${"))
            return token
        used_env = True
        if var not in env:
            out.problems.append((loc, f"environment variable {var} is not set"))
            return ""
        return env[var]

    result = _TOKEN.sub(repl, text)
    if used_env:
        out.from_env.add(loc)
    return result


def _walk(value: Any, loc: Loc, env: Mapping[str, str], out: Interpolated) -> Any:
    if len(loc) > _MAX_DEPTH:  # a YAML alias can make a list contain itself
        return value
    if isinstance(value, str):
        return _expand(value, loc, env, out)
    if isinstance(value, dict):
        # non-string keys (`on:`, `1:`) were reported while parsing; leave them out of validation
        return {k: _walk(v, (*loc, k), env, out) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [_walk(v, (*loc, i), env, out) for i, v in enumerate(value)]
    return value


def interpolate(data: Any, env: Mapping[str, str]) -> Interpolated:
    """Replace `${NAME}` in every string value (not keys) with `env[NAME]`. Unset names are problems
    (the value becomes "" so validation can go on); `$${` is a literal `${`."""
    out = Interpolated(data=None)
    out.data = _walk(data, (), env, out)
    return out
