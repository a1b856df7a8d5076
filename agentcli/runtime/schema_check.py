"""JSON Schema validation of an agent's output_type (and python tools' arguments), by `jsonschema`.

Draft 2020-12, with `$ref`/`$defs`, `pattern`, and `format` asserted wherever jsonschema can check it.
The library is imported on first use (it costs ~50 ms). Its errors are rewritten as one readable line
each ("$.temperature_c: expected number, got string"); a broken schema is a problem too, never a raise.
"""

from __future__ import annotations

import functools
import json
from typing import Any

_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    """The JSON type name of a parsed JSON value (bool is not a number here, as in JSON)."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _path(parts: Any, base: str = "$") -> str:
    out = base
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(value: Any, schema: dict[str, Any] | bool, path: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, one readable line each; [] when it conforms."""
    import jsonschema

    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        problems: list[str] = []
        for error in errors:
            for line in _describe(error, validator, path):
                if line not in problems:
                    problems.append(line)
        return problems
    except jsonschema.SchemaError as e:
        return [f"the schema itself is invalid: {_path(e.absolute_path, 'schema')}: {e.message}"]
    except Exception as e:  # an unresolvable $ref, a bad regex in `pattern` ...
        return [f"the schema cannot be used: {type(e).__name__}: {' '.join(str(e).split())[:200]}"]


@functools.lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    """A checked validator per schema (an agent's output_type, a tool's parameters): built once, ~1 ms."""
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _describe(error: Any, validator: Any, base: str) -> list[str]:
    where = _path(error.absolute_path, base)
    kind, expected, value = error.validator, error.validator_value, error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return [f"{where}: expected {' or '.join(names)}, got {json_type(value)}"]
    if kind == "required" and isinstance(value, dict):
        return [f"{where}.{name}: required but missing" for name in expected if name not in value]
    if kind == "additionalProperties" and expected is False and isinstance(value, dict):
        known = set(schema.get("properties") or {})
        patterns = list(schema.get("patternProperties") or {})
        import re

        extra = [k for k in value if k not in known and not any(re.search(p, k) for p in patterns)]
        return [f"{where}.{k}: not allowed (additionalProperties is false)" for k in extra]
    simple = {
        "const": lambda: f"expected {_short(expected)}, got {_short(value)}",
        "enum": lambda: f"{_short(value)} is not one of {', '.join(_short(v) for v in expected)}",
        "minimum": lambda: f"{value} is less than the minimum {expected}",
        "maximum": lambda: f"{value} is more than the maximum {expected}",
        "exclusiveMinimum": lambda: f"{value} must be more than {expected}",
        "exclusiveMaximum": lambda: f"{value} must be less than {expected}",
        "minLength": lambda: f"shorter than {expected} characters",
        "maxLength": lambda: f"longer than {expected} characters",
        "minItems": lambda: f"fewer than {expected} items",
        "maxItems": lambda: f"more than {expected} items",
        "pattern": lambda: f"{_short(value)} does not match the pattern {expected}",
        "format": lambda: f"{_short(value)} is not a valid {expected}",
        "false": lambda: "no value is allowed here",
    }
    if kind in simple:
        return [f"{where}: {simple[kind]()}"]
    if kind == "anyOf" or (kind == "oneOf" and error.context):
        return [f"{where}: matches none of {kind} ({_closest(error, validator, base)})"]
    if kind == "oneOf":
        matches = sum(1 for sub in expected if validator.evolve(schema=sub).is_valid(value))
        return [f"{where}: matches {matches} of oneOf, expected exactly one"]
    return [f"{where}: {' '.join(error.message.split())[:200]}"]


def _closest(error: Any, validator: Any, base: str) -> str:
    # The closest miss explains the failure best: a branch of the right type, with the fewest problems.
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    if not branches:
        return ""

    def distance(errors: list[Any]) -> tuple[bool, int]:
        return errors[0].validator == "type", len(errors)

    best = min(branches.values(), key=distance)
    lines = _describe(best[0], validator, base)
    return lines[0] if lines else ""
