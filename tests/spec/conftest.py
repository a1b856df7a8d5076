"""Helpers for spec tests: write a spec into tmp_path and load it, collecting the problem lines."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from agentcli.errors import SpecError
from agentcli.spec.loader import load_spec


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def problems(write: Callable[[str, str], Path]) -> Callable[[str], list[str]]:
    """Load `text` as spec.yaml; return its problem lines with the tmp folder stripped."""

    def _problems(text: str) -> list[str]:
        path = write("spec.yaml", text)
        with pytest.raises(SpecError) as info:
            load_spec(str(path))
        return [p.replace(str(path.parent) + "/", "") for p in info.value.problems]

    return _problems
