"""`agent spec validate | schema | new`, run through the typer app."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from agentcli.cli.spec_cmd import app
from agentcli.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_validate_ok_goes_to_stdout() -> None:
    weather = str(ROOT / "agent_specs" / "weather.yaml")
    result = runner.invoke(app, ["validate", weather])
    assert result.exit_code == 0
    assert result.stdout == f"ok  {weather} (agents: weather, spanish)\n"
    assert result.stderr == ""


def test_validate_problems_go_to_stderr_exit_2(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfoo: 1\nmodel_settings: {temperature: hot}\n")
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert result.stdout == f"ok  {good} (agents: good)\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}:2:1: foo: unknown key 'foo'")
    assert lines[1] == f"{bad}:3:31: model_settings.temperature: must be a number (got 'hot')"
    assert "Traceback" not in result.output


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    result = runner.invoke(app, ["validate", missing])
    assert result.exit_code == 2
    assert result.stderr == f"{missing}: no such file\n" and result.stdout == ""


def test_validate_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n")
    assistant = str(ROOT / "agent_specs" / "assistant.yaml")
    result = runner.invoke(app, ["validate", "--json", assistant, str(bad)])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report[0] == {"file": assistant, "ok": True, "agents": ["assistant"], "problems": [], "warnings": []}
    assert report[1]["ok"] is False and report[1]["agents"] == []
    assert report[1]["problems"][0].startswith(f"{bad}:2:1: yaml: ")
    assert result.stderr == ""


def test_validate_stdin() -> None:
    result = runner.invoke(app, ["validate", "-"], input="name: piped\n")
    assert result.exit_code == 0 and result.stdout == "ok  - (agents: piped)\n"


def test_validate_needs_a_file() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2


def test_schema_prints_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$schema"].endswith("2020-12/schema")


def test_new_to_stdout_validates() -> None:
    result = runner.invoke(app, ["new", "helper"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["name"] == "helper"
    assert load_spec("helper.yaml", text=result.stdout).entry == "helper"


def test_new_writes_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "helper.yaml"
    assert runner.invoke(app, ["new", "helper", "-o", str(out)]).exit_code == 0
    assert load_spec(str(out)).entry == "helper"
    out.write_text("keep me")
    refused = runner.invoke(app, ["new", "helper", "-o", str(out)])
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert out.read_text() == "keep me"
    assert runner.invoke(app, ["new", "helper", "-o", str(out), "--force"]).exit_code == 0
    assert load_spec(str(out)).entry == "helper"


def test_new_rejects_bad_name() -> None:
    result = runner.invoke(app, ["new", "two words"])
    assert result.exit_code == 2 and "bad agent name" in result.stderr and result.stdout == ""


def test_no_args_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "validate" in result.output and "schema" in result.output and "new" in result.output
