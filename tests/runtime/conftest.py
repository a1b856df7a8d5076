"""Helpers for runtime tests: specs built straight from the pydantic models, tool modules on disk."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentcli.spec.model import AgentSpec, Spec


def make_spec(folder: Path, *agents: dict[str, Any], entry: str | None = None) -> Spec:
    """A Spec whose base_dir is `folder` (as if loaded from folder/agent.yaml)."""
    parsed = {a["name"]: AgentSpec.model_validate(a) for a in agents}
    return Spec(agents=parsed, entry=entry or next(iter(parsed)), path=str(folder / "agent.yaml"))


def write_module(folder: Path, source: str) -> str:
    """Write a uniquely named module into `folder` (imports are cached per name) and return its name."""
    name = f"tools_{uuid.uuid4().hex[:10]}"
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return name


# the runner tests' tool module and API (test_runner.py, test_runner_checks.py)
TOOLS = '''
import asyncio

def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"

async def wait(label: str, seconds: float) -> str:
    """Wait, then say the label."""
    await asyncio.sleep(seconds)
    return label
'''


@pytest.fixture(params=["responses", "chat"])
def api(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tools_module(tmp_path: Path) -> str:
    return write_module(tmp_path, TOOLS)
