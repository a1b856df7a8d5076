"""plan_reply: stateless reply indexing, templates, tool calls, exhaustion and structured output."""

from __future__ import annotations

import json
from typing import Any

from agentcli.sim.planner import (
    EXHAUSTED,
    PlannedText,
    PlannedToolCalls,
    count_tokens,
    json_pieces,
    plan_reply,
    responses_since,
    text_pieces,
)
from agentcli.sim.script import parse_script
from agentcli.sim.structured import minimal_instance

SCRIPT = parse_script(
    {
        "turns": [
            {
                "match": "weather",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris", "q": "{input}"}}},
                    {"text": "Here it is: {tool_output}"},
                ],
            },
            {
                "match": "both",
                "reply": [
                    {"tool_calls": [{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]},
                    {"text": "done"},
                ],
            },
            {"match": ".*", "reply": [{"text": "Turn {turn}: {input}"}]},
        ]
    }
)


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": text}


def call(call_id: str, name: str = "f") -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"}


def output(call_id: str, text: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


def only(plans: list[Any]) -> Any:
    assert len(plans) == 1
    return plans[0]


def test_first_reply_is_a_tool_call_with_filled_arguments() -> None:
    plan = only(plan_reply(SCRIPT, [user("weather in Paris?")]))
    assert isinstance(plan, PlannedToolCalls)
    [c] = plan.calls
    assert c.name == "get_weather"
    assert json.loads(c.arguments) == {"city": "Paris", "q": "weather in Paris?"}
    assert c.call_id == "call_t1r0c0"


def test_after_the_tool_output_the_text_uses_it() -> None:
    convo = [user("weather?"), call("call_t1r0c0", "get_weather"), output("call_t1r0c0", "22C sunny")]
    assert only(plan_reply(SCRIPT, convo)) == PlannedText("Here it is: 22C sunny")


def test_index_is_derived_from_the_request_only() -> None:
    convo = [user("weather?"), call("x1"), output("x1", "r1")]
    # the same request twice gives the same answer: no hidden server state
    assert plan_reply(SCRIPT, convo) == plan_reply(SCRIPT, convo)
    # past the end of the reply list: the last text entry again
    convo += [assistant("Here it is: r1"), call("x2"), output("x2", "r2")]
    assert only(plan_reply(SCRIPT, convo)) == PlannedText("Here it is: r2")


def test_each_user_message_matches_from_the_top() -> None:
    convo = [user("weather?"), call("c"), output("c", "sun"), assistant("Here it is: sun"), user("thanks")]
    assert only(plan_reply(SCRIPT, convo)) == PlannedText("Turn 2: thanks")
    convo += [assistant("Turn 2: thanks"), user("weather again")]
    plan = only(plan_reply(SCRIPT, convo))
    assert isinstance(plan, PlannedToolCalls) and plan.calls[0].call_id == "call_t3r0c0"


def test_parallel_tool_calls_are_one_response() -> None:
    plan = only(plan_reply(SCRIPT, [user("do both")]))
    assert isinstance(plan, PlannedToolCalls)
    assert [(c.name, json.loads(c.arguments), c.call_id) for c in plan.calls] == [
        ("a", {}, "call_t1r0c0"),
        ("b", {"x": 1}, "call_t1r0c1"),
    ]
    # outputs interleaved with our own call ids still count as one response
    interleaved = [
        user("both"),
        call("call_t1r0c0", "a"),
        output("call_t1r0c0", "1"),
        call("call_t1r0c1", "b"),
        output("call_t1r0c1", "2"),
    ]
    assert only(plan_reply(SCRIPT, interleaved)) == PlannedText("done")
    grouped = [user("both"), call("p"), call("q"), output("p", "1"), output("q", "2")]
    assert only(plan_reply(SCRIPT, grouped)) == PlannedText("done")


def test_responses_since_counts_groups() -> None:
    assert responses_since([]) == 0
    assert responses_since([assistant("a"), call("x"), output("x", "o")]) == 1  # text + call in one response
    assert responses_since([call("x"), output("x", "o"), call("y"), output("y", "o")]) == 2
    assert responses_since([call("call_t1r0c0"), output("call_t1r0c0", "o"), call("call_t1r1c0")]) == 2


def test_no_script_or_no_match_echoes() -> None:
    assert only(plan_reply(None, [user("hello")])) == PlannedText("You said: hello")
    script = parse_script({"turns": [{"match": "^never$", "reply": ["x"]}]})
    assert only(plan_reply(script, [user("hello")])) == PlannedText("You said: hello")


def test_system_messages_are_ignored_and_content_parts_read() -> None:
    convo = [
        {"type": "message", "role": "system", "content": "weather weather"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "plain"}]},
    ]
    assert only(plan_reply(SCRIPT, convo)) == PlannedText("Turn 1: plain")


def test_exhausted_without_any_text_entry() -> None:
    script = parse_script({"turns": [{"reply": [{"tool_call": {"name": "f"}}]}]})
    convo = [user("x"), call("c"), output("c", "o")]
    assert only(plan_reply(script, convo)) == PlannedText(EXHAUSTED)


def test_structured_output_replaces_non_json_text() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
        "required": ["city", "temp"],
    }
    plan = only(plan_reply(None, [user("hi")], output_schema=schema))
    assert json.loads(plan.text) == {"city": "example", "temp": 0}
    script = parse_script({"turns": [{"reply": ['{"city": "Oslo", "temp": 3}']}]})
    plan = only(plan_reply(script, [user("hi")], output_schema=schema))
    assert json.loads(plan.text) == {"city": "Oslo", "temp": 3}  # valid JSON is kept


def test_minimal_instance_covers_the_schema_keywords() -> None:
    schema = {
        "$defs": {"Item": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}}}},
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "b": {"type": "boolean"},
            "e": {"enum": ["red", "green"]},
            "c": {"const": 7},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
            "opt": {"anyOf": [{"type": "null"}, {"type": "number"}]},
            "multi": {"type": ["null", "string"]},
            "nested": {
                "type": "object",
                "properties": {"deep": {"type": "array", "items": {"type": "boolean"}, "minItems": 2}},
            },
        },
        "required": ["s"],
    }
    assert minimal_instance(schema) == {
        "s": "example",
        "b": False,
        "e": "red",
        "c": 7,
        "items": [{"n": 2}],
        "opt": 0,
        "multi": "example",
        "nested": {"deep": [False, False]},
    }


def test_recursive_schema_terminates() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    value = minimal_instance(schema)
    assert isinstance(value, dict) and "kids" in value


def test_pieces_rejoin_exactly() -> None:
    for text in ["Hello big world", "  lead", "trail  ", "", "one"]:
        assert "".join(text_pieces(text)) == text
    assert text_pieces("Hello big world") == ["Hello", " big", " world"]
    args = json.dumps({"city": "Paris", "days": 3})
    assert "".join(json_pieces(args)) == args and len(json_pieces(args)) > 1
    assert count_tokens("Hello, world!") == 4
