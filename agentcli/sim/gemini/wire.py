"""Reading what Gemini Live clients send: camelCase (the API's JSON) or snake_case (google-genai's)."""

from __future__ import annotations

import json
import re
from typing import Any

# values that are the user's data, not protocol: their keys stay as given
_OPAQUE = {"args", "response", "parametersJsonSchema", "responseJsonSchema", "parameters"}


def camel_key(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def camel(value: Any) -> Any:
    """Every protocol key in camelCase (user data such as function arguments left alone)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = camel_key(str(k))
            out[key] = v if key in _OPAQUE else camel(v)
        return out
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def text_of(parts: Any) -> str:
    return "".join(str(p.get("text") or "") for p in parts or [] if isinstance(p, dict))


def neutral_items(content: dict[str, Any]) -> list[dict[str, Any]]:
    """One `Content` as the planner's neutral items (agentcli/models/base.py)."""
    role = "assistant" if content.get("role") == "model" else "user"
    out: list[dict[str, Any]] = []
    for part in content.get("parts") or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            out.append({"type": "function_call", "call_id": str(call.get("id") or ""), "name": str(call.get("name")),
                        "arguments": json.dumps(call.get("args") or {})})  # fmt: skip
        elif isinstance(part.get("functionResponse"), dict):
            out.append(function_output(part["functionResponse"]))
        elif part.get("text"):
            out.append({"type": "message", "role": role, "content": str(part["text"])})
    return out


def function_output(response: dict[str, Any]) -> dict[str, Any]:
    value = response.get("response")
    if isinstance(value, dict) and set(value) <= {"output", "result"} and len(value) == 1:
        value = next(iter(value.values()))
    output = value if isinstance(value, str) else json.dumps(value)
    return {"type": "function_call_output", "call_id": str(response.get("id") or ""), "output": output}
