"""Turn pydantic validation errors into short messages a spec author can act on."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from agentcli.spec.model import _NAME
from agentcli.spec.positions import Loc

_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
}


def _tag_of(member: Any) -> str | None:
    """The pydantic Tag on `Annotated[Model, Tag("x")]`, if any."""
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                return tag
    return None


def _strip(tp: Any) -> Any:
    """Unwrap Annotated[...] and `X | None` down to the type that shapes the loc."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def resolve_loc(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Loc, type[BaseModel] | None]:
    """Follow a pydantic error loc through the model types. Returns the loc as the author wrote it
    (union tags such as the tool kind dropped) and the model class at its end, if it is a model."""
    shown: list[str | int] = []
    tp: Any = root
    for part in loc:
        tp = _strip(tp)
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            tagged = {_tag_of(m): m for m in get_args(tp)}
            if isinstance(part, str) and part in tagged:
                tp = tagged[part]  # a discriminated union's tag: not a key in the file
                continue
            tp = None
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            info = tp.model_fields.get(part)
            tp = info.annotation if info else None
        elif origin is list and isinstance(part, int):
            tp = get_args(tp)[0]
        elif origin is dict and isinstance(part, str):
            tp = get_args(tp)[1]
        else:
            tp = None
        shown.append(part)
    tp = _strip(tp)
    return tuple(shown), tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _shown_value(value: Any) -> str | None:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return None


def unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"unknown key '{key}'"
    expected = list(model.model_fields)
    close = difflib.get_close_matches(key, expected, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}' ({hint}expected one of: {', '.join(expected)})"


def humanize(error: ErrorDetails, parent_model: type[BaseModel] | None, *, secret: bool) -> str:
    """One pydantic error -> one message. `parent_model` is the model holding the field (for unknown
    keys); `secret` hides the offending value because it came from the environment."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    got = None if secret else _shown_value(value)
    suffix = f" (got {got})" if got else ""
    if kind == "extra_forbidden":
        return unknown_key(str(error["loc"][-1]), parent_model)
    if kind == "missing":
        return "required"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind] + suffix
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of: {expected}{suffix}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == _NAME:
        return "must start with a letter and use only letters, digits, _ and - (at most 64)" + suffix
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    msg = error["msg"]
    if msg.startswith("Input should be "):
        return "must be " + msg[len("Input should be ") :] + suffix
    if msg.startswith("String should "):
        return "must " + msg[len("String should ") :] + suffix
    if msg.startswith("List should "):
        return "must " + msg[len("List should ") :]
    return msg[:1].lower() + msg[1:]
