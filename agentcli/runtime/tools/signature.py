"""A Python function's signature and docstring -> the tool's description and JSON schema."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

_SIMPLE: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_schema(annotation: Any) -> dict[str, Any]:
    """JSON schema for one annotation; unknown types accept anything ({})."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SIMPLE:
        return {"type": _SIMPLE[annotation]}
    if annotation is type(None):
        return {"type": "null"}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_schema(args[0])
    if origin is Literal:
        values = list(args)
        kinds = {_SIMPLE.get(type(v)) for v in values}
        schema: dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            schema["type"] = kinds.pop()
        return schema
    if origin in (typing.Union, types.UnionType):
        return _union_schema(args)
    if annotation is list or origin in (list, tuple, set, frozenset):
        items = args[0] if args and args[0] is not Ellipsis else Any
        return {"type": "array", "items": type_schema(items)} if items is not Any else {"type": "array"}
    if annotation is dict or origin is dict:
        schema = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            schema["additionalProperties"] = type_schema(args[1])
        return schema
    return {}


def _union_schema(args: tuple[Any, ...]) -> dict[str, Any]:
    subs = [type_schema(a) for a in args]
    if any(s == {} for s in subs):
        return {}
    # A union of plain types reads best as a type list: {"type": ["string", "null"]}.
    if all(set(s) == {"type"} and isinstance(s["type"], str) for s in subs):
        return {"type": [s["type"] for s in subs]}
    return {"anyOf": subs}


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {param: doc}) from a docstring: the first paragraph, plus a Google-style
    "Args:" section or Sphinx ":param x:" lines when present."""
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    paragraphs = re.split(r"\n\s*\n", text)
    first = paragraphs[0].strip()
    if re.match(r"^(Args|Arguments|Parameters|Returns|Raises):", first) or first.startswith(":"):
        first = ""
    description = " ".join(line.strip() for line in first.splitlines())
    return description, _google_args(text) | _sphinx_params(text)


def _google_args(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    lines = text.splitlines()
    in_args, indent, params_indent = False, 0, 0
    current: str | None = None
    for line in lines:
        if re.match(r"^\s*(Args|Arguments|Parameters):\s*$", line):
            in_args, indent, current = True, len(line) - len(line.lstrip()), None
            continue
        if not in_args:
            continue
        if not line.strip():
            continue
        line_indent = len(line) - len(line.lstrip())
        if line_indent <= indent:  # the next section ("Returns:") or the end
            in_args = False
            continue
        m = re.match(r"^\s*\*{0,2}(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", line)
        if m and (current is None or line_indent <= params_indent):
            current, params_indent = m.group(1), line_indent
            params[current] = m.group(3).strip()
        elif current is not None:
            params[current] = (params[current] + " " + line.strip()).strip()
    return params


def _sphinx_params(text: str) -> dict[str, str]:
    params = {}
    for m in re.finditer(r"^\s*:param\s+(?:[\w\[\], |]+\s+)?(\w+):\s*(.*)$", text, re.MULTILINE):
        params[m.group(1)] = m.group(2).strip()
    return params


def function_schema(fn: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """(description, parameters schema) for a tool function. Params without a default are required."""
    description, param_docs = parse_docstring(inspect.getdoc(fn))
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        schema = dict(type_schema(hints.get(name, param.annotation)))
        if name in param_docs and param_docs[name]:
            schema["description"] = param_docs[name]
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif _jsonable(param.default):
            schema["default"] = param.default
        properties[name] = schema
    return description, {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
