"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "agent_specs"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own AGENT_HOME so sessions and traces never leak between tests."""
    home = tmp_path_factory.mktemp("agent_home")
    monkeypatch.setenv("AGENT_HOME", str(home))
    monkeypatch.delenv("AGENT_SPEC", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def agent_home(_isolated_home: Path) -> Path:
    return _isolated_home


def agent_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def run_agent(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `agent` command (as `python -m agentcli`) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "agentcli", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=env or agent_env(),
        timeout=timeout,
        cwd=cwd or ROOT,
    )


@pytest.fixture
def agent():
    """`agent("chat", spec, "--sim", "-m", "hi")` -> CompletedProcess."""
    return run_agent
