"""The script loader: a valid file loads; every broken one is a one-line UsageError (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcli.errors import UsageError
from agentcli.sim.script import load_script, parse_script

FULL = """
api_key: expected-key
latency: {first_token_ms: 5, stt_ms: 6, tts_first_byte_ms: 7}
hear: ["what's the weather in Paris", "thanks"]
turns:
  - match: "weather"
    reply:
      - tool_call: {name: get_weather, arguments: {city: Paris}}
      - text: "Here it is: {tool_output}"
  - match: "both"
    reply:
      - tool_calls: [{name: a, arguments: {}}, {name: b, arguments: '{"x": 1}'}]
      - text: "done"
  - match: ".*"
    reply:
      - text: "Turn {turn}: {input}"
faults:
  - {status: 503, times: 2}
  - {disconnect_after_events: 3}
  - {latency_ms: 200, retry_after_ms: 50}
"""


def test_full_script_loads(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FULL)
    script = load_script(path)
    assert script.api_key == "expected-key"
    assert (script.latency.first_token_ms, script.latency.stt_ms, script.latency.tts_first_byte_ms) == (
        5,
        6,
        7,
    )
    assert script.hear == ["what's the weather in Paris", "thanks"]
    assert [t.match.pattern for t in script.turns] == ["weather", "both", ".*"]
    assert script.turns[0].match.search("WEATHER today")  # case-insensitive
    call = script.turns[0].reply[0].tool_calls[0]  # type: ignore[index]
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert [c.name for c in script.turns[1].reply[0].tool_calls or []] == ["a", "b"]
    assert script.turns[1].reply[0].tool_calls[1].arguments == '{"x": 1}'  # type: ignore[index]
    assert [(f.status, f.times, f.disconnect_after_events, f.latency_ms) for f in script.faults] == [
        (503, 2, None, 0),
        (None, 1, 3, 0),
        (None, 1, None, 200),
    ]
    assert script.faults[0].retry_after_ms == 10 and script.faults[2].retry_after_ms == 50


def test_empty_file_is_an_empty_script(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    script = load_script(path)
    assert script.turns == [] and script.faults == [] and script.api_key is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("turns: [{match: '(', reply: [{text: x}]}]", "turns[0].match: bad regex"),
        ("turnz: []", "turnz: unknown key"),
        ("turns: [{match: x, reply: []}]", "turns[0].reply: needs at least one entry"),
        ("turns: [{reply: [{text: a, tool_call: {name: f}}]}]", "give exactly one of text, tool_call"),
        ("turns: [{reply: [{tool_call: {arguments: {}}}]}]", "tool_call.name: must be a non-empty string"),
        ("turns: [{reply: [{tool_call: {name: f, arguments: 'not json'}}]}]", "must be JSON text"),
        ("faults: [{times: 2}]", "faults[0]: give status, disconnect_after_events, go_away_after_events or latency_ms"),
        ("faults: [{status: 200}]", "faults[0].status: must be an integer >= 400"),
        ("latency: {first_token_ms: -1}", "latency.first_token_ms: must be an integer >= 0"),
        ("hear: [1]", "hear[0]: must be a string"),
        ("- just a list", "must be a mapping"),
        ("turns: [unclosed", "s.yaml:"),
    ],
)
def test_bad_scripts_are_one_line_usage_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_script(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(f"sim script {path}")
    assert info.value.exit_code == 2


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_script(tmp_path / "nope.yaml")


def test_reply_shorthand_string_is_text() -> None:
    script = parse_script({"turns": [{"match": "hi", "reply": ["hello"]}]})
    assert script.turns[0].reply[0].text == "hello"


def test_a_yaml_bomb_script_is_refused_with_its_position(tmp_path) -> None:
    """Simulator scripts are user input like specs: alias expansion is bounded."""
    import pytest

    from agentcli.errors import UsageError
    from agentcli.sim.script import load_script

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=r"bomb.yaml:\d+:\d+: aliases expand"):
        load_script(path)
