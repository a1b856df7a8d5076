"""A deterministic minimal instance of a JSON schema, for structured-output replies.

Strings are "example", numbers 0 (or the minimum), booleans false, arrays hold one element (or
minItems), every property is filled, enums and anyOf/oneOf pick the first choice. Local $refs resolve.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 12  # recursive schemas (a tree of nodes) stop here with an empty value


def minimal_instance(schema: dict[str, Any]) -> Any:
    return _instance(schema, schema, 0)


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _instance(schema: Any, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _instance(_resolve(str(schema["$ref"]), root), root, depth + 1) if depth < _MAX_DEPTH else None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        choices = schema.get(key)
        if isinstance(choices, list) and choices:
            non_null = [c for c in choices if not (isinstance(c, dict) and c.get("type") == "null")]
            return _instance((non_null or choices)[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = _resolve(part["$ref"], root) if isinstance(part, dict) and "$ref" in part else part
            if isinstance(part, dict):
                merged.update({k: v for k, v in part.items() if k != "properties"})
                merged.setdefault("properties", {}).update(part.get("properties", {}))
        return _instance(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "string":
        return "example"
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        value = low if isinstance(low, (int, float)) and low > 0 else 0
        if "exclusiveMinimum" in schema and value == schema["exclusiveMinimum"]:
            value += 1
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if depth >= _MAX_DEPTH:
        return [] if kind == "array" else {}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1) or 1))
        return [_instance(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    props = schema.get("properties") or {}
    return {name: _instance(sub, root, depth + 1) for name, sub in props.items()}
