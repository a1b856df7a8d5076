"""`agent events schema`: generated from events.py, and what the commands really print validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from agentcli import events as ev
from agentcli.cli.events_cmd import _WHAT, event_classes, events_schema, markdown_table
from tests.conftest import ROOT, run_agent

HERE = Path(__file__).parent
TEAM = str(HERE / "specs" / "team.yaml")
TEAM_SCRIPT = str(HERE / "scripts" / "team.yaml")


def _schema(*extra: str) -> dict:
    r = run_agent("events", "schema", *extra)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def test_the_schema_names_every_event_with_every_field():
    doc = _schema()
    names = {c.__name__ for c in event_classes()}
    assert {"TurnDone", "ToolCallStarted", "Notice", "UserSpeech"} <= names
    for cls in event_classes():
        event = cls()
        part = doc["$defs"][event.type]
        assert set(part["required"]) == set(event.to_dict()), cls.__name__
        jsonschema.validate(event.to_dict(), doc)  # a default event of each kind is valid
    bad = ev.TurnDone().to_dict() | {"turn": "one"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, doc)


@pytest.mark.e2e
@pytest.mark.parametrize("message", ["please add", "transfer now", "forbidden", "leak"])
def test_every_jsonl_line_of_a_real_run_validates(message: str):
    doc = _schema()
    r = run_agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", message, "--jsonl")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines and lines[0]["type"] == "session_started" and lines[-1]["type"] == "session_ended"
    for line in lines:
        jsonschema.validate(line, doc)


@pytest.mark.e2e
@pytest.mark.parametrize("message", ["please add", "transfer now", "forbidden"])
def test_the_json_object_validates(message: str):
    doc = _schema("--json-result")
    r = run_agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", message, "--json")
    jsonschema.validate(json.loads(r.stdout), doc)


def test_the_readme_table_is_the_generated_one_and_every_event_is_described():
    assert markdown_table() in (ROOT / "README.md").read_text()
    for cls in event_classes():
        assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(") or cls().type in _WHAT, cls
    assert events_schema()["oneOf"][0] == {"$ref": "#/$defs/session_started"}
