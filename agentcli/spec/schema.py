"""JSON Schema (draft 2020-12) of the spec file format, for editors such as yaml-language-server."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from agentcli.spec.model import BUILTIN_TOOLS, AgentSpec, SpecFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def spec_json_schema() -> dict[str, Any]:
    """A file is one agent (AgentSpec keys at the top level) or `agents: [...]`."""
    _, top = models_json_schema(
        [(AgentSpec, "validation"), (SpecFile, "validation")], ref_template="#/$defs/{model}"
    )
    defs: dict[str, Any] = top["$defs"]
    tools = defs["AgentSpec"]["properties"]["tools"]
    # `- current_time` is shorthand for `- builtin: current_time`; the models only see the long form
    tools["items"] = {"anyOf": [tools["items"], {"type": "string", "enum": list(BUILTIN_TOOLS)}]}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "agentcli agent spec",
        "description": "One agent (its keys at the top level), or several under `agents:`.",
        "oneOf": [{"$ref": "#/$defs/AgentSpec"}, {"$ref": "#/$defs/SpecFile"}],
        "$defs": defs,
    }
