"""`agent <command> ...` builds only that command: the same options and help as in the whole app, and the
other command modules are not imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from agentcli.cli.main import COMMANDS, build_app
from tests.conftest import ROOT, agent_env


def _help(app: typer.Typer, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="agent")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_one_command_alone_has_the_same_help_as_in_the_whole_app(command: str) -> None:
    assert _help(build_app(command), command) == _help(build_app(), command)


def test_the_whole_app_lists_every_command() -> None:
    listed = _help(build_app())
    assert all(f"  {command} " in listed for command in COMMANDS)


def test_a_chat_run_imports_no_other_command_module(tmp_path: object) -> None:
    code = ("import sys; sys.argv = ['agent', 'chat', '--sim', '-m', 'hi', '--no-trace']\n"
            "from agentcli.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('agentcli.cli.') and m.endswith('_cmd')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=agent_env(AGENT_HOME=str(tmp_path)), stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    answer, loaded = out.stdout.strip().splitlines()
    assert answer == "You said: hi"
    assert loaded == "['agentcli.cli.chat_cmd']"
