"""Helpers for runtime tests: specs built straight from the pydantic models, tool modules on disk."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

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
