"""Parse spec YAML while remembering where every key and value was written (1-based line, column).

Paths are tuples of keys and list indexes, the same shape as pydantic's error `loc`, so a validation
error can be pointed back at the line that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from agentcli.errors import SpecError

Loc = tuple[str | int, ...]
Pos = tuple[int, int]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_KEY_KINDS = {"bool": "boolean", "int": "number", "float": "number", "null": "null", "timestamp": "date"}
_MAX_DEPTH = 200  # anchors can make a node its own descendant; stop long before Python would


def format_loc(loc: Loc) -> str:
    """('tools', 1, 'shell', 'command') -> 'tools[1].shell.command'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problem(display: str, pos: Pos, loc: Loc, message: str) -> str:
    """One problem line: `path:line:col: field.path: message` (no field path at the top level)."""
    where = format_loc(loc)
    return f"{display}:{pos[0]}:{pos[1]}: {where + ': ' if where else ''}{message}"


@dataclass
class Positions:
    """Where each key (`name:`) and each value was written, by path."""

    keys: dict[Loc, Pos] = field(default_factory=dict)
    values: dict[Loc, Pos] = field(default_factory=dict)

    def at(self, loc: Loc, *, key: bool = False) -> Pos:
        """The best position for a problem at `loc`: the key itself when asked and known, else the
        value, else the nearest enclosing key or value that exists (a missing key points at its parent)."""
        if key and loc in self.keys:
            return self.keys[loc]
        if loc in self.values:
            return self.values[loc]
        for n in range(len(loc) - 1, -1, -1):
            prefix = loc[:n]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)


def _pos(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _yaml_problem(display: str, text: str, e: yaml.YAMLError) -> str:
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        what = e.problem or e.context or "invalid YAML"
        if e.context and e.problem:
            what = f"{e.problem} ({e.context})"
        if mark is not None:
            return f"{display}:{mark.line + 1}:{mark.column + 1}: yaml: {what}"
        return f"{display}:1:1: yaml: {what}"
    if isinstance(e, yaml.reader.ReaderError):  # a character YAML forbids; it has an offset, not a mark
        line = text.count("\n", 0, e.position) + 1
        col = e.position - text.rfind("\n", 0, e.position)
        return f"{display}:{line}:{col}: yaml: {e.reason} (character #x{e.character:04x})"
    return f"{display}:1:1: yaml: {str(e).splitlines()[0] if str(e) else 'invalid YAML'}"


class _Walker:
    def __init__(self, display: str) -> None:
        self.display = display
        self.positions = Positions()
        self.problems: list[tuple[Pos, Loc, str]] = []  # (where, field, message)
        self._active: set[int] = set()

    def walk(self, node: yaml.Node, loc: Loc) -> None:
        if id(node) in self._active or len(loc) > _MAX_DEPTH:
            return  # an alias back into its own parent: already recorded
        self.positions.values.setdefault(loc, _pos(node))
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self._mapping(node, loc)
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    self.walk(item, (*loc, i))
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> None:
        seen: set[str] = set()
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            child = (*loc, key)
            if key_node.tag != _STR_TAG:
                # `on:`, `yes:`, `1:` are read as bool/number keys; the loader drops non-string keys
                what = _KEY_KINDS.get(key_node.tag.rsplit(":", 1)[-1], "non-string")
                self.problems.append(
                    (_pos(key_node), loc, f"key '{key}' is read as a {what}; quote it: '{key}'")
                )
                continue
            if key in seen:
                self.problems.append((_pos(key_node), child, f"duplicate key '{key}'"))
            seen.add(key)
            self.positions.keys.setdefault(child, _pos(key_node))
            self.walk(value_node, child)
        # `<<: *base` after the own keys, so an own key that overrides a merged one keeps its own line
        for value_node in merges:
            for merged in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                if isinstance(merged, yaml.MappingNode):
                    self._mapping(merged, loc)


def parse_yaml(text: str, display: str) -> tuple[Any, Positions, list[tuple[Pos, Loc, str]]]:
    """YAML text -> (data, positions, problems). Safe-loader semantics (plain data only).

    A syntax error raises SpecError at once; duplicate keys are returned as (pos, loc, message),
    since the data is still usable to find more."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, Positions(), []
        walker = _Walker(display)
        walker.walk(node, ())  # before constructing: construction flattens merge keys in place
        data = loader.construct_document(node)
    except yaml.YAMLError as e:
        raise SpecError([_yaml_problem(display, text, e)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, walker.positions, walker.problems
