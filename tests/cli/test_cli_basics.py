"""`agent --help`, `--version`, broken specs and usage errors through the real command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentcli import __version__
from tests.conftest import run_agent

pytestmark = pytest.mark.e2e

LOCATED = re.compile(r"^.+:\d+:\d+: ")


def test_help_lists_commands_and_imports_nothing_heavy():
    r = run_agent("--help")
    assert r.returncode == 0
    for command in ("chat", "voice", "trace", "spec", "sim", "devices"):
        assert command in r.stdout
    probe = (
        "import sys, runpy; sys.argv=['agent','--help']\n"
        "try:\n    runpy.run_module('agentcli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('openai','numpy','sounddevice','pydantic','yaml','rich','httpx2') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "HEAVY []" in out.stderr, out.stderr


def test_version():
    r = run_agent("--version")
    assert (r.returncode, r.stdout.strip()) == (0, f"agent {__version__}")


def test_unknown_option_is_a_usage_error():
    r = run_agent("chat", "--no-such-flag")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "text, expect",
    [
        ("name: a\ninstructions: [unclosed\n", "yaml"),
        ("name: a\nmodle: gpt\n", "modle"),
        ("name: a\nmodel_settings:\n  temperature: hot\n", "model_settings.temperature"),
        ("instructions: no name\n", "name"),
        ("name: a\ntools:\n  - shell: {name: x}\n", "command"),
        ("name: a\ninput_guardrails:\n  - regex: '('\n", "regex"),
        ("name: a\nhandoffs: [ghost]\n", "ghost"),
        ("name: a\ninstructions: ${AGENTCLI_TEST_UNSET_VAR}\n", "AGENTCLI_TEST_UNSET_VAR"),
    ],
)
def test_broken_specs_exit_2_with_located_one_line_errors(tmp_path: Path, text: str, expect: str):
    spec = tmp_path / "broken.yaml"
    spec.write_text(text)
    r = run_agent("chat", str(spec), "--sim", "-m", "hi")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines and all(LOCATED.match(line) for line in lines), lines
    assert str(spec) in lines[0]
    assert expect in r.stderr
    assert r.stdout == ""


def test_missing_spec_file_exits_2(tmp_path: Path):
    r = run_agent("chat", str(tmp_path / "nope.yaml"), "--sim", "-m", "hi")
    assert r.returncode == 2
    assert "nope.yaml" in r.stderr and "Traceback" not in r.stderr


def test_agent_spec_env_var_is_the_default_spec(tmp_path: Path):
    spec = tmp_path / "mine.yaml"
    spec.write_text("name: mine\ninstructions: hi\n")
    r = run_agent("chat", "--sim", "-m", "x", "--json", env=dict(os.environ, AGENT_SPEC=str(spec)))
    assert r.returncode == 0, r.stderr
    assert '"agent": "mine"' in r.stdout


def test_spec_validate_through_the_real_command():
    from tests.conftest import SPECS

    specs = sorted(str(p) for p in SPECS.glob("*.yaml"))
    assert len(specs) >= 3
    r = run_agent("spec", "validate", *specs)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok") >= 3


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_voice_input_that_is_not_a_file_says_what_it_is(tmp_path, kind: str) -> None:
    import os

    from tests.conftest import run_agent

    target = tmp_path / "in"
    if kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    for extra in ([], ["--realtime"]):
        r = run_agent("voice", "--sim", "--input", str(target), *extra)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert ("is a folder" if kind == "folder" else "not a regular file") in r.stderr
