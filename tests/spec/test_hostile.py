"""Hostile spec files (issue 12): each ends as one `path:line:col:` line and exit 2, within a memory
limit set in the child process; the harness timeout bounds the wall clock (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1 << 30  # address space; the billion laughs reached 2.2 GB before the fix

_UNDER_LIMIT = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.argv = ["agent", *sys.argv[1:]]
runpy.run_module("agentcli", run_name="__main__")
"""


def run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    code = _UNDER_LIMIT.format(limit=MEMORY_LIMIT)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def billion_laughs() -> str:
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def alias_chain() -> str:
    """Each anchor nests the previous one 90 levels deeper: few values, thousands of levels."""
    text = "name: x\noutput_type:\n  a0: &a0 " + "[" * 90 + "]" * 90 + "\n"
    for i in range(1, 60):
        text += f"  a{i}: &a{i} " + "[" * 90 + f"*a{i - 1}" + "]" * 90 + "\n"
    return text


def deep_mapping(depth: int) -> str:
    lines = ["name: x", "output_type:"]
    lines += ["  " * (i + 1) + f"k{i}:" for i in range(depth)]
    return "\n".join(lines) + "\n" + "  " * (depth + 1) + "v\n"


CASES = {
    "billion_laughs": (billion_laughs(), "6:4: yaml: aliases expand this to more than 100000 values"),
    "deep_flow": (
        "name: x\noutput_type: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "2:113: yaml: nested more than 100 levels deep",
    ),
    "deep_block": (deep_mapping(3000), "101:199: yaml: nested more than 100 levels deep"),
    "alias_chain": (alias_chain(), "yaml: aliases nest this more than 100 levels deep"),
    "alias_cycle": ("name: x\noutput_type: &a {x: *a}\n", "2:14: yaml: an alias refers to a node that contains it"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_yaml_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_limited("spec", "validate", str(path))
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{path}:") and expected in line
    assert result.stdout == ""


def test_billion_laughs_in_a_handoff_file(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(billion_laughs(), encoding="utf-8")
    main = tmp_path / "main.yaml"
    main.write_text("name: main\nhandoffs: [bomb.yaml]\n", encoding="utf-8")
    result = run_limited("chat", str(main), "--sim", "-m", "hi")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "bomb.yaml:6:4: yaml: aliases expand this to more than 100000 values" in result.stderr
    assert "Traceback" not in result.stderr


def test_normal_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    from agentcli.spec.loader import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text(
        "agents:\n  - &base {name: a, model: m1, model_settings: {temperature: 0.5}}\n"
        "  - {<<: *base, name: b}\n",
        encoding="utf-8",
    )
    spec = load_spec(str(path))
    assert spec.agents["b"].model_settings.temperature == 0.5


def test_load_yaml_bounded_for_other_user_yaml() -> None:
    import yaml

    from agentcli.spec.positions import load_yaml_bounded

    assert load_yaml_bounded("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    assert load_yaml_bounded("") is None
    for text in (billion_laughs(), "[" * 5000 + "]" * 5000):
        with pytest.raises(yaml.MarkedYAMLError) as info:
            load_yaml_bounded(text)
        assert info.value.problem_mark is not None and info.value.problem
