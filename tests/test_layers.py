"""The layer rules of ARCHITECTURE.md, checked on the source: nothing outside `agentcli/cli` imports the
CLI, the simulator does not import the client's realtime code, and no two files import each other in a
cycle (module-level imports; lazy imports inside functions are how heavy modules stay off `--help`)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "agentcli"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` imports are not run
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.split(".")[0] == "agentcli"}


def _files() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def test_nothing_outside_the_cli_imports_the_cli() -> None:
    offenders = []
    for name, path in _files().items():
        if name.startswith("agentcli.cli") or name == "agentcli.__main__":
            continue
        bad = [i for i in _imports(path, top_level_only=False) if i == "agentcli.cli" or i.startswith("agentcli.cli.")]
        if bad:
            offenders.append(f"{name}: {sorted(bad)}")
    assert offenders == []


def test_the_simulator_owns_its_realtime_protocol_code() -> None:
    offenders = []
    for name, path in _files().items():
        if name.startswith("agentcli.sim"):
            bad = [i for i in _imports(path, top_level_only=False) if i.startswith("agentcli.realtime")]
            if bad:
                offenders.append(f"{name}: {sorted(bad)}")
    assert offenders == []


def test_no_import_cycles_between_files() -> None:
    files = _files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for imported in _imports(path, top_level_only=True):
            # `from agentcli.x import y` names a module (agentcli.x.y) or a name in agentcli.x
            module = imported if imported in files else imported.rsplit(".", 1)[0]
            if module in files and module != name and not name.startswith(module + "."):
                targets.add(module)
        graph[name] = targets
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The import walker sees imports at both levels (so the tests above can fail)."""
    f = tmp_path / "m.py"
    f.write_text("import agentcli.cli.common\n\ndef g():\n    from agentcli.realtime import items\n")
    assert _imports(f, top_level_only=True) == {"agentcli.cli.common"}
    assert "agentcli.realtime.items" in _imports(f, top_level_only=False)
