"""Shipped specs, the starter, the README example and the JSON schema all agree with the loader."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from agentcli.errors import UsageError
from agentcli.spec.loader import load_spec, spec_json_schema, starter_spec
from agentcli.spec.model import PythonTool, ShellTool

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "agent_specs").glob("*.yaml"))


def test_there_are_shipped_specs() -> None:
    assert {p.name for p in SHIPPED} >= {"assistant.yaml", "weather.yaml", "structured.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_spec_validates_against_loader_and_schema(path: Path) -> None:
    spec = load_spec(str(path))
    assert spec.entry in spec.agents
    jsonschema.Draft202012Validator(spec_json_schema()).validate(yaml.safe_load(path.read_text()))


def test_weather_spec_shape() -> None:
    spec = load_spec(str(ROOT / "agent_specs" / "weather.yaml"))
    weather = spec.entry_agent
    assert spec.entry == "weather" and weather.handoffs == ["spanish"]
    assert spec.agents["spanish"].handoff_description == "Speaks Spanish"
    assert [type(t) for t in weather.tools] == [PythonTool, ShellTool]
    assert weather.input_guardrails[0].keywords and weather.output_guardrails[0].regex


def test_structured_spec_output_type() -> None:
    schema = load_spec(str(ROOT / "agent_specs" / "structured.yaml")).entry_agent.output_type
    assert schema is not None
    assert set(schema["required"]) == {"city", "temperature_c", "summary"} == set(schema["properties"])


def test_weather_tool_is_deterministic() -> None:
    module_spec = importlib.util.spec_from_file_location(
        "weather_tools", ROOT / "agent_specs" / "weather_tools.py"
    )
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    assert module.get_weather("Paris") == module.get_weather("Paris") == "Paris: windy, 13°C"
    assert module.get_weather("Paris", units="imperial") == "Paris: windy, 55°F"


def test_schema_shape() -> None:
    schema = spec_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert [s["$ref"] for s in schema["oneOf"]] == ["#/$defs/AgentSpec", "#/$defs/SpecFile"]
    assert schema["$defs"]["AgentSpec"]["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # plain JSON, nothing pydantic-specific left in it


def test_schema_accepts_tool_shorthand_and_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    assert validator.is_valid({"name": "a", "tools": ["current_time", {"python": "m:f"}]})
    assert not validator.is_valid({"name": "a", "bogus": 1})
    assert not validator.is_valid({"name": "a", "tools": ["nope"]})
    assert validator.is_valid({"agents": [{"name": "a"}, {"name": "b", "entry": True}]})


def test_starter_validates(tmp_path: Path) -> None:
    text = starter_spec("helper")
    path = tmp_path / "helper.yaml"
    path.write_text(text)
    assert load_spec(str(path)).entry == "helper"
    assert "#" in text  # commented for humans
    jsonschema.Draft202012Validator(spec_json_schema()).validate(yaml.safe_load(text))


def test_starter_rejects_bad_name() -> None:
    with pytest.raises(UsageError, match="bad agent name"):
        starter_spec("two words")


def test_readme_spec_example_validates(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The spec format", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "README has a yaml example under 'The spec format'"
    # the example hands off to `spanish`: give it that agent so the file stands alone
    text = "agents:\n" + "".join(
        f"  {'- ' if i == 0 else '  '}{line}\n" for i, line in enumerate(match.group(1).splitlines())
    )
    text += "  - name: spanish\n"
    path = tmp_path / "readme.yaml"
    path.write_text(text)
    assert load_spec(str(path)).entry == "weather"
