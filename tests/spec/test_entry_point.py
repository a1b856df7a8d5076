"""`agent spec ...` through the real entry point, and the spec command staying light to import."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_real_command_validates_and_reports(
    agent: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    ok = agent("spec", "validate", "agent_specs/weather.yaml")
    assert ok.returncode == 0 and ok.stdout == "ok  agent_specs/weather.yaml (agents: weather, spanish)\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: a\ntools: [{shell: {name: x}}]\n")
    result = agent("spec", "validate", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"{bad}:2:10: tools[0].shell.command: required\n"


def test_spec_command_imports_no_heavy_modules() -> None:
    code = (
        "import sys, agentcli.cli.spec_cmd; "
        "print(sorted(m for m in ('pydantic', 'yaml', 'openai', 'numpy', 'sounddevice') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
