"""What `agent spec validate` checks beyond the file itself, without running user code.

- python tools and guardrails: the module is found on the spec's folder and sys.path (by the import
  system's finders, which read no module code), and, for a module with Python source, the function is
  bound at its top level (read from its syntax tree). `--import` imports instead, running the module.
- read_file roots and shell `cwd:` are folders; shell placeholders name declared params.
- warnings, not problems: settings this machine cannot honour (the spec is fine elsewhere), such as
  `voice.turn.model: smart-turn` without the `smart-turn` extra installed.

Each problem is a `path:line:col: field: message` line pointing at the field it comes from.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.machinery
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

from agentcli.spec.model import AgentSpec, BuiltinTool, PythonTool, ShellTool, Spec

Loc = tuple[str | int, ...]
# Names whose use means a module may bind attributes a syntax tree does not show.
_DYNAMIC = {"globals", "exec", "eval", "setattr", "vars", "__getattr__", "__dict__"}


def reference_problems(spec: Spec, *, do_import: bool = False) -> list[str]:
    """Every problem with what the spec's agents refer to (modules, functions, folders)."""
    found: list[str] = []
    for name, agent in spec.agents.items():
        base_dir = spec.base_dir_for(name)
        for i, tool in enumerate(agent.tools):
            if isinstance(tool, PythonTool):
                _ref(found, agent, ("tools", i, "python"), tool.python, base_dir, do_import)
            elif isinstance(tool, BuiltinTool) and tool.builtin == "read_file":
                _folder(found, agent, ("tools", i, "root"), tool.root or ".", base_dir, "read_file root")
            elif isinstance(tool, ShellTool):
                _shell(found, agent, i, tool, base_dir)
        for stage in ("input", "output"):
            guardrails = agent.input_guardrails if stage == "input" else agent.output_guardrails
            for i, guardrail in enumerate(guardrails):
                if guardrail.python:
                    _ref(found, agent, (f"{stage}_guardrails", i, "python"), guardrail.python, base_dir, do_import)
    return list(dict.fromkeys(found))  # an agent reached twice reports once


def setting_warnings(spec: Spec) -> list[str]:
    """What the spec asks for that cannot run here and would be dropped (said once at run time too)."""
    found: list[str] = []
    for agent in spec.agents.values():
        if agent.voice.turn.model == "smart-turn":
            from agentcli.audio.smart_turn import smart_turn_available

            why = smart_turn_available()
            if why is not None:
                found.append(agent.where(("voice", "turn", "model"), f"{why}; turns would end by the transcript alone"))
    return list(dict.fromkeys(found))


def _ref(found: list[str], agent: AgentSpec, loc: Loc, ref: str, base_dir: str, do_import: bool) -> None:
    if do_import:
        from agentcli.runtime.imports import import_ref  # runs the module: only when asked

        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries the validation result only
                import_ref(ref, base_dir)
        except (ImportError, AttributeError, TypeError) as e:
            found.append(agent.where(loc, str(e)))
        return
    problem = static_ref_problem(ref, base_dir)
    if problem:
        found.append(agent.where(loc, problem))


def static_ref_problem(ref: str, base_dir: str) -> str | None:
    """Why "module:function" cannot work, as far as is known without running the module; else None."""
    module_name, _, attr = ref.partition(":")
    try:
        spec = find_module(module_name, base_dir)
    except _Unknown:
        return None
    except (ImportError, ValueError) as e:
        return f"cannot look for module {module_name!r}: {e}"
    if spec is None:
        return f"no module named {module_name!r} (looked in {base_dir} and sys.path)"
    origin = spec.origin
    if not origin or not origin.endswith(".py") or not os.path.isfile(origin):
        return None  # built-in, compiled or namespace: its names cannot be read without importing it
    try:
        source = Path(origin).read_bytes()
        tree = ast.parse(source, filename=origin)
    except SyntaxError as e:
        return f"module {module_name!r} has a syntax error ({origin}:{e.lineno}: {e.msg})"
    except (OSError, ValueError) as e:
        return f"cannot read module {module_name!r} ({origin}): {e}"
    names = top_level_names(tree)
    if names is None or attr in names:
        return None
    if spec.submodule_search_locations and _exists(f"{module_name}.{attr}", base_dir):
        return None  # a submodule, reachable once imported
    return f"module {module_name!r} has no {attr!r} ({origin})"


class _Unknown(Exception):
    """Whether the module exists cannot be told without importing its parent."""


def find_module(name: str, base_dir: str) -> ModuleSpec | None:
    """The module's spec, found as `import` would (spec folder first) without executing any module:
    parents are looked up by path, never imported."""
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__spec__", None) is not None:
        return loaded.__spec__  # e.g. os.path, which is no file under os/
    parts = name.split(".")
    found: ModuleSpec | None = None
    for depth in range(1, len(parts) + 1):
        fullname = ".".join(parts[:depth])
        if depth == 1:
            found = importlib.machinery.PathFinder.find_spec(fullname, [base_dir, *sys.path])
            if found is None and "." not in fullname:
                found = importlib.util.find_spec(fullname)  # built-in, frozen, editable installs
        else:
            locations = found.submodule_search_locations if found is not None else None
            if not locations:  # a plain module as parent: only running it could add the submodule
                raise _Unknown(fullname)
            found = importlib.machinery.PathFinder.find_spec(fullname, list(locations))
        if found is None:
            return None
    return found


def _exists(name: str, base_dir: str) -> bool:
    try:
        return find_module(name, base_dir) is not None
    except (_Unknown, ImportError, ValueError):
        return True


def top_level_names(tree: ast.Module) -> set[str] | None:
    """Names a module binds at its top level, or None when it may bind others dynamically."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _DYNAMIC:
            return None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "__getattr__":
            return None
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
    names: set[str] = set()
    _bind(tree.body, names)
    return names


def _bind(body: list[ast.stmt], names: set[str]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                _targets(target, names)
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            _targets(stmt.target, names)
        elif isinstance(stmt, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in stmt.names)
        elif isinstance(stmt, ast.ImportFrom):
            names.update(a.asname or a.name for a in stmt.names)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            _targets(stmt.target, names)
        for field in ("body", "orelse", "finalbody"):  # if/try/with/for/while blocks bind at top level too
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                _bind(inner, names)
        for handler in getattr(stmt, "handlers", []) or []:
            _bind(handler.body, names)
        if isinstance(stmt, ast.Match):
            for case in stmt.cases:
                _bind(case.body, names)
    for node in body:  # walrus at top level: `(x := f())`
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                names.add(sub.target.id)


def _targets(target: ast.expr, names: set[str]) -> None:
    if isinstance(target, ast.Name):
        names.add(target.id)
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            _targets(elt, names)
    elif isinstance(target, ast.Starred):
        _targets(target.value, names)


def _folder(found: list[str], agent: AgentSpec, loc: Loc, folder: str, base_dir: str, what: str) -> None:
    path = Path(base_dir, folder).resolve()
    if not path.is_dir():
        state = "does not exist" if not path.exists() else "is not a folder"
        found.append(agent.where(loc, f"{what} {folder!r} {state} (resolved to {path})"))


def _shell(found: list[str], agent: AgentSpec, i: int, tool: ShellTool, base_dir: str) -> None:
    from agentcli.runtime.tools.shell import placeholders

    for j, item in enumerate(tool.shell.command):
        for ref in placeholders(item):
            if ref not in tool.shell.params:
                loc = ("tools", i, "shell", "command", j)
                found.append(agent.where(loc, f"uses {{{ref}}} but params has no {ref}"))
    if tool.shell.cwd:
        _folder(found, agent, ("tools", i, "shell", "cwd"), tool.shell.cwd, base_dir, "cwd")
