"""A small JSON-schema validator for an agent's output_type: enough of the spec for structured answers.

Covers type (incl. unions and null), properties, required, additionalProperties (false or a schema),
items, enum, const, minimum/maximum (+ exclusive), minLength/maxLength, minItems/maxItems, anyOf, oneOf,
allOf. Returns readable problems ("$.temperature_c: expected number, got string"), never raises.
"""

from __future__ import annotations

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


def _is_type(value: Any, name: str) -> bool:
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return json_type(value) == name


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(value: Any, schema: dict[str, Any] | bool, path: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, one readable line each; [] when it conforms."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: no value is allowed here"]
    if not isinstance(schema, dict):
        return []

    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, t) for t in names):
            return [f"{path}: expected {' or '.join(names)}, got {json_type(value)}"]

    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: expected {_short(schema['const'])}, got {_short(value)}")
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(_short(v) for v in schema["enum"])
        problems.append(f"{path}: {_short(value)} is not one of {allowed}")

    if _is_type(value, "number"):
        problems += _check_number(value, schema, path)
    elif isinstance(value, str):
        problems += _check_string(value, schema, path)
    elif isinstance(value, list):
        problems += _check_array(value, schema, path)
    elif isinstance(value, dict):
        problems += _check_object(value, schema, path)

    problems += _check_combinators(value, schema, path)
    return problems


def _check_number(value: float, schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{path}: {value} is less than the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(f"{path}: {value} is more than the maximum {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        problems.append(f"{path}: {value} must be more than {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        problems.append(f"{path}: {value} must be less than {schema['exclusiveMaximum']}")
    return problems


def _check_string(value: str, schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{path}: longer than {schema['maxLength']} characters")
    return problems


def _check_array(value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(f"{path}: more than {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, dict | bool):
        for i, item in enumerate(value):
            problems += validate(item, items, f"{path}[{i}]")
    return problems


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    properties: dict[str, Any] = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            problems.append(f"{path}.{name}: required but missing")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            problems += validate(item, properties[name], f"{path}.{name}")
        elif extra is False:
            problems.append(f"{path}.{name}: not allowed (additionalProperties is false)")
        elif isinstance(extra, dict):
            problems += validate(item, extra, f"{path}.{name}")
    return problems


def _check_combinators(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    for sub in schema.get("allOf") or []:
        problems += validate(value, sub, path)
    if "anyOf" in schema:
        results = [validate(value, sub, path) for sub in schema["anyOf"]]
        if all(results):
            problems.append(f"{path}: matches none of anyOf ({_closest(results, path)})")
    if "oneOf" in schema:
        results = [validate(value, sub, path) for sub in schema["oneOf"]]
        matches = sum(1 for r in results if not r)
        if matches == 0:
            problems.append(f"{path}: matches none of oneOf ({_closest(results, path)})")
        elif matches > 1:
            problems.append(f"{path}: matches {matches} of oneOf, expected exactly one")
    return problems


def _closest(results: list[list[str]], path: str) -> str:
    # The closest miss explains the failure best: a branch of the right type, with the fewest problems.
    def distance(problems: list[str]) -> tuple[bool, int]:
        wrong_type = bool(problems) and problems[0].startswith(f"{path}: expected ")
        return wrong_type, len(problems)

    best = min(results, key=distance)
    return best[0] if best else ""
