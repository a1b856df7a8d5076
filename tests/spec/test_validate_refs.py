"""`agent spec validate` resolves python references, folders and placeholders without running user
code (`--import` runs it); every problem points at its field as path:line:col (issue 11)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agentcli.cli.spec_cmd import app

runner = CliRunner()

TOOLS = """
import os
from json import dumps as imported_name
try:
    import fast_json_xyz as maybe
except ImportError:
    maybe = None
if os.name:
    def in_if(x: int) -> int:
        return x
total, (first, *rest) = 0, (1, 2)

def lookup(city: str) -> str:
    return city

async def slow() -> None: ...

class Thing:
    def method(self) -> None: ...
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def validate(*args: str) -> tuple[int, list[str], str]:
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stderr.splitlines(), result.stdout


def test_bound_names_of_every_kind_pass(tmp_path: Path) -> None:
    write(tmp_path, "refs_ok.py", TOOLS)
    refs = ["lookup", "slow", "Thing", "imported_name", "maybe", "in_if", "first", "rest", "total", "Thing"]
    tools = "".join(f"  - {{python: 'refs_ok:{r}', name: t{i}}}\n" for i, r in enumerate(refs))
    tools += "  - python: json:dumps\n  - python: os.path:join\n"
    spec = write(tmp_path, "spec.yaml", "name: a\ntools:\n" + tools)
    code, errors, out = validate(str(spec))
    assert (code, errors) == (0, []) and out.startswith("ok ")


def test_each_unresolved_reference_points_at_its_field(tmp_path: Path) -> None:
    write(tmp_path, "refs_some.py", "def there() -> None: ...\n")
    write(tmp_path, "broken_syntax.py", "def f(:\n")
    write(tmp_path, "not_a_folder.txt", "x")
    spec = write(
        tmp_path,
        "spec.yaml",
        """
        name: a
        tools:
          - python: refs_some:there
          - python: refs_some:missing
          - python: nowhere_xyz:f1
          - python: broken_syntax:f2
          - builtin: read_file
            root: docs
          - shell:
              name: s
              command: [echo, "{who}"]
              cwd: nope
        input_guardrails:
          - python: nowhere_guard_xyz:check
        output_guardrails:
          - python: refs_some:absent_check
        """,
    )
    code, errors, out = validate(str(spec))
    p = str(spec)
    assert code == 2 and out == ""
    assert errors == [
        f"{p}:4:13: tools[1].python: module 'refs_some' has no 'missing' ({tmp_path}/refs_some.py)",
        f"{p}:5:13: tools[2].python: no module named 'nowhere_xyz' (looked in {tmp_path} and sys.path)",
        f"{p}:6:13: tools[3].python: module 'broken_syntax' has a syntax error ({tmp_path}/broken_syntax.py:1: "
        "invalid syntax)",
        f"{p}:8:11: tools[4].root: read_file root 'docs' does not exist (resolved to {tmp_path}/docs)",
        f"{p}:11:23: tools[5].shell.command[1]: uses {{who}} but params has no who",
        f"{p}:12:12: tools[5].shell.cwd: cwd 'nope' does not exist (resolved to {tmp_path}/nope)",
        f"{p}:14:13: input_guardrails[0].python: no module named 'nowhere_guard_xyz' (looked in {tmp_path} "
        "and sys.path)",
        f"{p}:16:13: output_guardrails[0].python: module 'refs_some' has no 'absent_check' "
        f"({tmp_path}/refs_some.py)",
    ]


def test_a_root_that_is_a_file(tmp_path: Path) -> None:
    write(tmp_path, "not_a_folder.txt", "x")
    spec = write(tmp_path, "spec.yaml", "name: a\ntools:\n  - {builtin: read_file, root: not_a_folder.txt}\n")
    assert validate(str(spec))[:2] == (
        2,
        [
            f"{spec}:3:32: tools[0].root: read_file root 'not_a_folder.txt' is not a folder "
            f"(resolved to {tmp_path}/not_a_folder.txt)"
        ],
    )


def test_no_user_code_runs_without_import_flag(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    run_me = f"open({str(marker)!r}, 'w').close()\n"
    write(tmp_path, "pkg_refs/__init__.py", run_me)
    write(tmp_path, "pkg_refs/sub.py", run_me + "def f() -> None: ...\n")
    write(tmp_path, "exits_refs.py", run_me + "import sys\nsys.exit(5)\ndef g() -> None: ...\n")
    spec = write(tmp_path, "spec.yaml", "name: a\ntools:\n  - python: pkg_refs.sub:f\n  - python: exits_refs:g\n")
    code, errors, _ = validate(str(spec))
    assert (code, errors) == (0, [])
    assert not marker.exists()
    code, errors, _ = validate("--import", str(spec))
    assert marker.exists()
    assert code == 2 and errors == [f"{spec}:4:13: tools[1].python: importing exits_refs failed: it called sys.exit(5)"]


def test_dynamic_module_needs_import_to_be_checked(tmp_path: Path) -> None:
    write(tmp_path, "dyn_refs.py", "def __getattr__(name: str) -> object:\n    raise AttributeError(name)\n")
    spec = write(tmp_path, "spec.yaml", "name: a\ntools: [{python: 'dyn_refs:made_up'}]\n")
    assert validate(str(spec))[:2] == (0, [])  # cannot be known without running it
    code, errors, _ = validate("--import", str(spec))
    assert code == 2 and errors == [f"{spec}:2:18: tools[0].python: module 'dyn_refs' has no 'made_up'"]


def test_handoff_file_problems_name_that_file(tmp_path: Path) -> None:
    write(tmp_path, "team/other.yaml", "name: other\ntools:\n  - python: gone_xyz:f\n")
    spec = write(tmp_path, "main.yaml", "name: main\nhandoffs: [team/other.yaml]\n")
    code, errors, _ = validate("--json", str(spec))
    assert code == 2
    result = json.loads(runner.invoke(app, ["validate", "--json", str(spec)]).stdout)
    (line,) = result[0]["problems"]
    assert line.startswith(f"{tmp_path}/team/other.yaml:3:13: tools[0].python: no module named 'gone_xyz'")


def test_chat_reports_a_tool_build_error_at_its_line(tmp_path: Path) -> None:
    from tests.conftest import run_agent

    spec = write(tmp_path, "spec.yaml", "name: a\ntools:\n  - builtin: read_file\n    root: missing\n")
    result = run_agent("chat", str(spec), "--sim", "-m", "hi", "--no-trace")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert f"{spec}:4:11: tools[0].root: read_file: root 'missing' is not a folder" in line


def test_smart_turn_without_its_extra_is_a_warning_not_a_problem(tmp_path: Path, monkeypatch: Any) -> None:
    import agentcli.audio.smart_turn as smart_turn

    spec = write(tmp_path, "a.yaml", "name: a\nvoice:\n  turn:\n    model: smart-turn\n")
    monkeypatch.setattr(smart_turn, "smart_turn_available", lambda: "onnxruntime cannot be imported")
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert f"warning: {spec}:4:12: voice.turn.model: onnxruntime cannot be imported" in result.stderr
    report = json.loads(runner.invoke(app, ["validate", "--json", str(spec)]).stdout)
    assert report[0]["ok"] and len(report[0]["warnings"]) == 1
    monkeypatch.setattr(smart_turn, "smart_turn_available", lambda: None)  # installed: nothing to say
    assert runner.invoke(app, ["validate", str(spec)]).stderr == ""
