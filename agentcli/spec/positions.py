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
# A spec is a few hundred values nested a few levels deep; these bounds stop hostile YAML (a billion
# laughs, 50,000 nested brackets) in milliseconds and bounded memory instead of a crash or a swap storm.
MAX_NESTING = 100
MAX_NODES = 100_000  # values once every alias is expanded


class _Limit(yaml.MarkedYAMLError):
    """A bound of this loader was passed; shaped like PyYAML's errors so it gets a position."""


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


@dataclass(frozen=True)
class Origin:
    """Where one agent was written: its file (as displayed), that file's positions, the agent's path."""

    display: str
    positions: Positions
    loc: Loc

    def line(self, loc: Loc, message: str) -> str:
        full = (*self.loc, *loc)
        return problem(self.display, self.positions.at(full), full, message)


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


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer (recursive in PyYAML) refuses nesting deeper than MAX_NESTING."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self._depth >= MAX_NESTING:
            raise _Limit(
                problem=f"nested more than {MAX_NESTING} levels deep", problem_mark=self.peek_event().start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def check_expansion(root: yaml.Node) -> None:
    """Raise _Limit when aliases expand the document past MAX_NODES values or MAX_NESTING levels, or
    make it contain itself. Memoized per node: one visit per node however often aliases repeat it."""
    seen: dict[int, tuple[int, int]] = {}  # node -> (values, height) once expanded
    active: set[int] = set()

    def limit(node: yaml.Node, what: str) -> _Limit:
        return _Limit(problem=what, problem_mark=node.start_mark)

    def visit(node: yaml.Node, level: int) -> tuple[int, int]:
        key = id(node)
        if key in active:
            raise limit(node, "an alias refers to a node that contains it (a cycle)")
        if key not in seen:
            if level > MAX_NESTING:
                raise limit(node, f"aliases nest this more than {MAX_NESTING} levels deep")
            active.add(key)
            if isinstance(node, yaml.SequenceNode):
                children: list[yaml.Node] = list(node.value)
            elif isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = []
            total, height = 1, 1
            for child in children:
                count, below = visit(child, level + 1)
                total, height = total + count, max(height, below + 1)
                if total > MAX_NODES:
                    raise limit(node, f"aliases expand this to more than {MAX_NODES} values")
            active.discard(key)
            seen[key] = (total, height)
        if level + seen[key][1] > MAX_NESTING + 1:
            raise limit(node, f"aliases nest this more than {MAX_NESTING} levels deep")
        return seen[key]

    visit(root, 1)


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
                self.problems.append((_pos(key_node), loc, f"key '{key}' is read as a {what}; quote it: '{key}'"))
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


def load_yaml_bounded(text: str) -> Any:
    """`yaml.safe_load` with this module's bounds on nesting and alias expansion: for other YAML a user
    hands in (simulator scripts). Raises yaml.YAMLError (a MarkedYAMLError with a position for a bound)."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, display: str) -> tuple[Any, Positions, list[tuple[Pos, Loc, str]]]:
    """YAML text -> (data, positions, problems). Safe-loader semantics (plain data only).

    A syntax error raises SpecError at once; duplicate keys are returned as (pos, loc, message),
    since the data is still usable to find more."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, Positions(), []
        check_expansion(node)  # recursion depth is bounded: the composer allowed MAX_NESTING levels
        walker = _Walker(display)
        walker.walk(node, ())  # before constructing: construction flattens merge keys in place
        data = loader.construct_document(node)
    except yaml.YAMLError as e:
        raise SpecError([_yaml_problem(display, text, e)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, walker.positions, walker.problems
