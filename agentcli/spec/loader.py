"""Load agent spec files: YAML with positions, `${ENV}` interpolation, validation, handoffs across files.

Every problem is one line `path:line:col: field.path: message`; all of them are raised together as
one SpecError so the author can fix everything in one go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from agentcli.errors import SpecError, UsageError
from agentcli.spec.checks import AgentAt, duplicate_tool_names, pick_entry
from agentcli.spec.defaults import default_spec, starter_spec
from agentcli.spec.interpolate import interpolate
from agentcli.spec.messages import humanize, resolve_loc
from agentcli.spec.model import AgentSpec, Spec, SpecFile
from agentcli.spec.positions import Loc, Origin, Pos, Positions, parse_yaml, problem
from agentcli.spec.schema import spec_json_schema
from agentcli.terminal_text import show_controls

__all__ = ["default_spec", "load_spec", "resolve_spec", "spec_json_schema", "starter_spec", "is_spec_path"]

STDIN_NAME = "<stdin>"


def is_spec_path(handoff: str) -> bool:
    """A handoff naming another spec file rather than an agent in the same file."""
    return handoff.endswith((".yaml", ".yml")) or "/" in handoff


def read_spec_text(path: str) -> str:
    """The file's text, or a SpecError naming the path (missing, a folder, unreadable, not UTF-8)."""
    if os.path.isdir(path):
        raise SpecError([f"{path}: is a directory, not a spec file"])
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except PermissionError:
        raise SpecError([f"{path}: permission denied"]) from None
    except UnicodeDecodeError:
        raise SpecError([f"{path}: not UTF-8 text"]) from None
    except OSError as e:
        raise SpecError([f"{path}: cannot read ({e.strerror or e})"]) from None


@dataclass
class _File:
    display: str
    base_dir: str
    positions: Positions
    entry: str


class _Loader:
    """One load: the files seen so far (each parsed once, cycles allowed) and all agents by name."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._found: list[tuple[int, Pos, int, str]] = []  # (file order, position, seq, line)
        self._file_order: dict[str, int] = {}
        self.files: dict[str, _File | None] = {}  # real path -> file (None: broken or being loaded)
        self.agents: dict[str, AgentSpec] = {}
        self.defined_in: dict[str, str] = {}  # agent name -> display path of its file
        self.sources: dict[str, str] = {}  # agent name -> absolute path of its file

    @property
    def problems(self) -> list[str]:
        """Every problem line: files in the order met, each file's problems in line order."""
        return [line for *_, line in sorted(self._found)]

    def note(self, display: str, pos: Pos, line: str) -> None:
        order = self._file_order.setdefault(display, len(self._file_order))
        self._found.append((order, pos, len(self._found), line))

    def add(self, display: str, positions: Positions, loc: Loc, message: str, *, key: bool = False) -> None:
        pos = positions.at(loc, key=key)
        self.note(display, pos, problem(display, pos, loc, message))

    def load(self, display: str, text: str, source: str | None, base_dir: str) -> _File | None:
        try:
            data, positions, duplicates = parse_yaml(text, display)
        except SpecError as e:
            for line in e.problems:
                self.note(display, (0, 0), line)
            return None
        for pos, loc, msg in duplicates:
            self.note(display, pos, problem(display, pos, loc, msg))
        if data is None:
            self.note(
                display, (1, 1), f"{display}:1:1: the spec is empty (expected an agent, or `agents: [...]`)"
            )
            return None
        if not isinstance(data, dict):
            self.note(
                display,
                (1, 1),
                f"{display}:1:1: a spec must be a mapping: an agent's keys, or `agents: [...]`",
            )
            return None
        agents = self._validate(display, data, positions)
        if agents is None:
            return None
        entry, entry_problems = pick_entry(agents)
        for loc, msg in entry_problems:
            self.add(display, positions, loc, msg, key=True)
        file = _File(display, base_dir, positions, entry)
        if source is not None:
            self.files[os.path.realpath(source)] = file  # before handoffs, so a cycle finds it
        for loc, agent in agents:
            agent._origin = Origin(display, positions, loc)
            self._register(file, loc, agent, source)
        for loc, agent in agents:
            self._resolve_handoffs(file, loc, agent, {a.name for _, a in agents})
            self._resolve_agent_tools(file, loc, agent, {a.name for _, a in agents})
            for where, msg in duplicate_tool_names(loc, agent):
                self.add(display, positions, where, msg)
        return file

    def _validate(self, display: str, data: dict[str, Any], positions: Positions) -> list[AgentAt] | None:
        interp = interpolate(data, self.env)
        for loc, msg in interp.problems:
            self.add(display, positions, loc, msg)
        bad_env = {loc for loc, _ in interp.problems}
        model: type[BaseModel] = SpecFile if "agents" in data else AgentSpec
        validated: BaseModel | None = None
        try:
            validated = model.model_validate(interp.data)
        except ValidationError as e:
            for err in e.errors():
                loc, _ = resolve_loc(model, err["loc"])
                if loc in bad_env:
                    continue  # already told: the variable is not set
                extra = err["type"] == "extra_forbidden"
                _, parent = resolve_loc(model, err["loc"][:-1]) if extra else (None, None)
                msg = humanize(err, parent, secret=loc in interp.from_env)
                self.add(display, positions, loc, msg, key=extra)
        if isinstance(validated, SpecFile):
            return [(("agents", i), a) for i, a in enumerate(validated.agents)]
        if isinstance(validated, AgentSpec):
            return [((), validated)]
        return None

    def _register(self, file: _File, loc: Loc, agent: AgentSpec, source: str | None) -> None:
        if agent.name in self.agents:
            other = self.defined_in[agent.name]
            where = "earlier in this file" if other == file.display else f"in {other}"
            self.add(
                file.display,
                file.positions,
                (*loc, "name"),
                f"agent '{agent.name}' is already defined {where}",
            )
            return
        self.agents[agent.name] = agent
        self.defined_in[agent.name] = file.display
        if source is not None:
            self.sources[agent.name] = os.path.abspath(source)

    def _resolve_handoffs(self, file: _File, loc: Loc, agent: AgentSpec, local_names: set[str]) -> None:
        """Rewrite each handoff to an agent name, loading other spec files as needed."""
        for i, handoff in enumerate(agent.handoffs):
            where = (*loc, "handoffs", i)
            if is_spec_path(handoff):
                target = self._load_handoff_file(file, where, handoff)
                if target is None:
                    continue
                name = target.entry
            elif handoff in local_names:
                name = handoff
            else:
                self.add(
                    file.display,
                    file.positions,
                    where,
                    f"unknown agent '{handoff}' (agents in this file: {', '.join(sorted(local_names))}; "
                    "another file's path must end in .yaml or .yml)",
                )
                continue
            if name == agent.name:
                self.add(file.display, file.positions, where, "an agent cannot hand off to itself")
                continue
            agent.handoffs[i] = name

    def _resolve_agent_tools(self, file: _File, loc: Loc, agent: AgentSpec, local_names: set[str]) -> None:
        """Rewrite each `agent:` tool to an agent name, loading other spec files as needed."""
        from agentcli.spec.model import AgentTool

        for i, tool in enumerate(agent.tools):
            if not isinstance(tool, AgentTool):
                continue
            where = (*loc, "tools", i, "agent")
            if is_spec_path(tool.agent):
                target = self._load_handoff_file(file, where, tool.agent)
                if target is None:
                    continue
                name = target.entry
            elif tool.agent in local_names:
                name = tool.agent
            else:
                self.add(file.display, file.positions, where,
                         f"unknown agent '{tool.agent}' (agents in this file: {', '.join(sorted(local_names))}; "
                         "another file's path must end in .yaml or .yml)")
                continue
            if name == agent.name:
                self.add(file.display, file.positions, where, "an agent cannot be its own tool")
                continue
            tool.agent = name

    def _load_handoff_file(self, file: _File, where: Loc, handoff: str) -> _File | None:
        path = os.path.normpath(os.path.join(file.base_dir, handoff))
        real = os.path.realpath(path)
        if real in self.files:
            return self.files[real]  # loaded already (or broken, and reported once)
        if not os.path.isfile(path):
            what = "is a directory" if os.path.isdir(path) else "no such spec file"
            self.add(file.display, file.positions, where, f"{what}: {handoff} (looked for {path})")
            return None
        self.files[real] = None  # mark as in progress
        display = os.path.normpath(os.path.join(os.path.dirname(file.display), handoff))
        try:
            text = read_spec_text(path)
        except SpecError as e:
            self.add(file.display, file.positions, where, e.problems[0].split(": ", 1)[-1])
            return None
        return self.load(display, text, path, os.path.dirname(os.path.abspath(path)))


def load_spec(path: str | None, *, text: str | None = None) -> Spec:
    """Load a spec file (or `text`, with `path` only as the name shown in errors; relative paths then
    resolve against the current folder). Raises SpecError with every problem found."""
    if text is None:
        if path is None:
            raise UsageError("load_spec needs a path or text")
        text = read_spec_text(path)
        source: str | None = path
        base_dir = os.path.dirname(os.path.abspath(path))
    else:
        source = None
        base_dir = os.getcwd()
    display = path or STDIN_NAME
    loader = _Loader(os.environ)
    root = loader.load(display, text, source, base_dir)
    if loader.problems or root is None:
        # a spec is data: a value quoted in a message must not carry escape sequences to the terminal
        raise SpecError([show_controls(line) for line in loader.problems] or [f"{display}: invalid spec"])
    return Spec(loader.agents, root.entry, source, loader.sources)


def resolve_spec(arg: str | None, *, stdin_text: str | None = None) -> Spec:
    """The spec a command runs: a path, "-" for stdin, else $AGENT_SPEC, else the built-in assistant."""
    if arg is None:
        env_path = os.environ.get("AGENT_SPEC")
        return load_spec(env_path) if env_path else default_spec()
    if arg == "-":
        if stdin_text is None:
            raise UsageError("spec '-' reads stdin, but nothing was given on stdin")
        return load_spec(STDIN_NAME, text=stdin_text)
    return load_spec(arg)
