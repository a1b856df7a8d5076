"""The one place secrets are scrubbed from text agentcli stores or shows (traces, the conversation store,
recordings' turns.json, the realtime log, exports), plus the helpers that reduce text to shapes.

Scrubbed: `sk-...` style keys, `Bearer ...` tokens, `Authorization:` header values, the literal values of
environment variables whose names end in _API_KEY / _TOKEN / _SECRET, and any value registered with
add_secret() (the variable a spec names in `api_key_env`, whatever its name: see add_spec_secrets()).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcli.spec.model import Spec

REDACTED = "[REDACTED]"
MAX_STRING = 16_000  # longer strings are cut: traces are for looking at, not archives
_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")
_MIN_SECRET_LEN = 6  # shorter env values are not secrets worth the false positives ("1", "true")
# the `keep` group is context that stays ("Bearer ", "Authorization: "); the rest of the match goes
_PATTERNS = [
    r"\bsk-[A-Za-z0-9_\-]{6,}",
    r"(?P<keep>(?i:\bauthorization\b[\"']?\s*[:=]\s*[\"']?))[^\s\"',}]+(?:\s+[^\s\"',}]+)?",
    r"(?P<keep2>(?i:\bbearer\s+))[A-Za-z0-9._~+/=\-]{6,}",
]


def _replace(match: re.Match[str]) -> str:
    return (match.group("keep") or match.group("keep2") or "") + REDACTED


_registered: set[str] = set()


def add_secret(value: str | None) -> None:
    """Scrub `value` too from now on, in every Redactor built after this call (and in redact_text)."""
    if value and len(value) >= _MIN_SECRET_LEN:
        _registered.add(value)


def add_spec_secrets(spec: Spec) -> None:
    """Register the values of the env vars the spec's agents name in `api_key_env` (any name)."""
    for agent in spec.agents.values():
        add_secret(os.environ.get(agent.provider.api_key_env))


def secret_env_values(environ: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if k.upper().endswith(_SECRET_SUFFIXES) and len(v) >= _MIN_SECRET_LEN}
    if environ is None:
        found |= _registered
    return sorted(found, key=len, reverse=True)


class Redactor:
    """Callable: str -> str with secrets replaced. Built once per recorder (cheap: one compiled regex)."""

    def __init__(self, extra_secrets: list[str] | None = None) -> None:
        secrets = secret_env_values() if extra_secrets is None else extra_secrets
        literals = [re.escape(s) for s in secrets]
        # literal values first: a planted key must go whole even when it does not look like `sk-...`
        self._pattern = "|".join([*literals, *_PATTERNS])
        self._regex: re.Pattern[str] | None = None  # compiled on first use: opening a recorder stays cheap

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._regex is None:
            self._regex = re.compile(self._pattern)
        return self._regex.sub(_replace, text)

    def scrub(self, obj: Any) -> Any:
        """Redact every string inside a JSON-able value, keeping its full length (for stored history)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(str(k)): self.scrub(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.scrub(v) for v in obj]
        return obj

    def value(self, obj: Any) -> Any:
        """Redact and cap every string inside a JSON-able value (dict keys included)."""
        if isinstance(obj, str):
            text = self(obj)
            if len(text) > MAX_STRING:
                text = f"{text[:MAX_STRING]}…[{len(text) - MAX_STRING} more chars]"
            return text
        if isinstance(obj, dict):
            return {self(str(k)): self.value(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.value(v) for v in obj]
        return obj


_default: tuple[frozenset[str], Redactor] | None = None


def default_redactor() -> Redactor:
    """A Redactor for the secrets known now (rebuilt only when the environment or the registry changed)."""
    global _default
    key = frozenset(secret_env_values())
    if _default is None or _default[0] != key:
        _default = (key, Redactor(sorted(key, key=len, reverse=True)))
    return _default[1]


def redact_text(text: str) -> str:
    """`text` with the secrets known now scrubbed (for one-off lines: errors, notices, log records)."""
    return default_redactor()(text)


def scrub(obj: Any) -> Any:
    """Every string inside a JSON-able value with the secrets known now scrubbed, nothing cut."""
    return default_redactor().scrub(obj)


def jsonable(obj: Any) -> Any:
    """Event payloads (parsed outputs, pydantic models, dataclasses) as plain JSON values."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    dump = getattr(obj, "model_dump", None) or getattr(obj, "to_dict", None)
    if callable(dump):
        return jsonable(dump())
    return str(obj)


def text_size(value: Any) -> int:
    """The length of a text-like value as it would be shown: what content=False keeps instead of it."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    import json

    return len(json.dumps(jsonable(value), ensure_ascii=False))
