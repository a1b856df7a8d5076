"""The real `agent chat` command, as a subprocess, against the embedded simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SPECS, run_agent

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
TEAM = str(HERE / "specs" / "team.yaml")
STRUCTURED = str(HERE / "specs" / "structured.yaml")
TEAM_SCRIPT = str(HERE / "scripts" / "team.yaml")


def chat(*args: str, **kw):
    return run_agent("chat", *args, **kw)


def team(message: str, *extra: str, **kw):
    return chat(TEAM, "--sim-script", TEAM_SCRIPT, "-m", message, *extra, **kw)


def test_one_shot_message_prints_only_the_answer():
    r = chat(str(SPECS / "assistant.yaml"), "--sim", "-m", "hello there")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "You said: hello there\n"
    assert "\x1b[" not in r.stdout + r.stderr


def test_no_spec_uses_the_built_in_assistant():
    r = chat("--sim", "-m", "hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "You said: hi\n"


def test_pipe_mode_reads_stdin_then_message():
    r = chat("--sim", input="from the pipe\n")
    assert (r.returncode, r.stdout) == (0, "You said: from the pipe\n"), r.stderr
    r = chat("--sim", "--sim-script", str(HERE / "scripts" / "echo_turns.yaml"), "-m", "and the flag",
             input="piped text")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Turn 1: piped text\n\nand the flag\n"


def test_empty_pipe_is_a_usage_error():
    r = chat("--sim", input="")
    assert r.returncode == 2
    assert "no input" in r.stderr
    assert "Traceback" not in r.stderr


def test_spec_from_stdin():
    spec = (SPECS / "assistant.yaml").read_text()
    r = chat("-", "--sim", "-m", "spec on stdin", input=spec)
    assert (r.returncode, r.stdout) == (0, "You said: spec on stdin\n"), r.stderr


def test_json_output_has_output_agent_tool_calls_usage():
    r = team("please add", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["output"] == "sum is 5"
    assert data["agent"] == "main"
    assert data["tool_calls"][0]["name"] == "add"
    assert data["tool_calls"][0]["arguments"] == {"a": 2, "b": 3}
    assert data["tool_calls"][0]["output"] == "5"
    assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0


def test_jsonl_streams_typed_events():
    r = team("please add", "--jsonl")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "session_started" and types[-1] == "session_ended"
    for expected in ("turn_started", "generation_started", "tool_call_started", "tool_call_finished",
                     "text_delta", "generation_done", "turn_done"):
        assert expected in types
    assert types.index("tool_call_started") < types.index("tool_call_finished") < types.index("turn_done")
    done = next(e for e in events if e["type"] == "turn_done")
    assert done["output"] == "sum is 5"


def test_parallel_tool_calls_and_async_python_tool():
    r = team("both tools", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert sorted(c["name"] for c in data["tool_calls"]) == ["add", "slow_echo"]
    outputs = {c["name"]: c["output"] for c in data["tool_calls"]}
    assert outputs == {"add": "2", "slow_echo": "echo:hi"}


def test_a_failing_tool_returns_an_error_to_the_model_and_the_run_goes_on():
    r = team("explode")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("tool said: ")
    assert "boom test" in r.stdout


def test_shell_tool_gets_one_literal_argument_and_nothing_injected_runs(tmp_path: Path):
    for message in ("inject semicolon", "inject subshell"):
        r = team(message, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        argv = json.loads(r.stdout)
        assert len(argv) == 1, argv
    assert json.loads(team("inject semicolon", cwd=tmp_path).stdout) == ["; touch PWNED_1"]
    assert not list(tmp_path.glob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
    assert not list((HERE / "specs").glob("PWNED*"))


def test_tool_needing_approval_is_refused_without_a_terminal_and_runs_with_yes():
    refused = team("danger")
    assert refused.returncode == 0, refused.stderr
    assert "needs approval" in refused.stderr
    assert "danger ran" not in refused.stdout
    assert "not approve" in refused.stdout
    approved = team("danger", "--yes")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout == "result: danger ran\n"


def test_handoff_switches_agent():
    r = team("transfer me", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["agent"] == "helper"
    assert data["output"] == "helper here"
    assert data["handoffs"] == [{"from": "main", "to": "helper"}]


def test_input_guardrail_stops_the_turn():
    r = team("tell me the forbidden thing")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "That topic is off limits." in r.stderr


def test_output_guardrail_replaces_the_answer():
    r = team("leak it")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[withheld]\n"
    assert "secret-1234" not in r.stdout


def test_output_type_is_parsed_and_validated():
    r = chat(STRUCTURED, "--sim", "-m", "weather in Paris", "--json")
    assert r.returncode == 0, r.stderr
    output = json.loads(r.stdout)["output"]
    assert isinstance(output, dict) and set(output) == {"city", "temperature_c"}
    bad = chat(STRUCTURED, "--sim-script", TEAM_SCRIPT, "-m", "bad json")
    assert bad.returncode == 1
    assert "output_type" in bad.stderr and "Traceback" not in bad.stderr


def test_max_turns_stops_with_a_clear_error():
    r = team("loop", "--max-turns", "2")
    assert r.returncode == 1
    assert "max_turns" in r.stderr or "max-turns" in r.stderr
    ok = team("loop", "--max-turns", "5")
    assert (ok.returncode, ok.stdout) == (0, "finally\n"), ok.stderr


def test_session_resume_and_continue():
    script = str(HERE / "scripts" / "echo_turns.yaml")
    first = chat("--sim-script", script, "--session", "work", "-m", "first")
    assert first.stdout == "Turn 1: first\n", first.stderr
    second = chat("--sim-script", script, "--session", "work", "-m", "second")
    assert second.stdout == "Turn 2: second\n", second.stderr
    third = chat("--sim-script", script, "-c", "-m", "third")
    assert third.stdout == "Turn 3: third\n", third.stderr
    other = chat("--sim-script", script, "--session", "other", "-m", "fresh")
    assert other.stdout == "Turn 1: fresh\n"


def test_503_twice_then_success():
    r = chat("--sim-script", str(HERE / "scripts" / "flaky.yaml"), "-m", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Turn 1: hello\n"
    assert "retrying (1): status 503" in r.stderr and "retrying (2): status 503" in r.stderr


def test_mid_stream_disconnect_is_a_clear_error_and_history_survives():
    script = str(HERE / "scripts" / "echo_turns.yaml")
    assert chat("--sim-script", script, "--session", "s", "-m", "one").returncode == 0
    dropped = chat("--sim-script", str(HERE / "scripts" / "drop.yaml"), "--session", "s", "-m", "two")
    assert dropped.returncode == 1
    assert "dropped" in dropped.stderr and "Traceback" not in dropped.stderr
    assert len(dropped.stderr.strip().splitlines()) <= 3
    after = chat("--sim-script", script, "--session", "s", "-m", "three")
    assert after.stdout == "Turn 2: three\n", after.stderr


def test_unreachable_server_names_the_url():
    env_url = "http://127.0.0.1:9/v1"
    import os

    r = run_agent("chat", "-m", "hi", env=dict(os.environ, OPENAI_BASE_URL=env_url, OPENAI_API_KEY="k"))
    assert r.returncode == 1
    assert "127.0.0.1:9" in r.stderr and "Traceback" not in r.stderr


def test_missing_key_names_the_env_var():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    r = run_agent("chat", "-m", "hi", env=env)
    assert r.returncode == 1
    assert "OPENAI_API_KEY" in r.stderr and "Traceback" not in r.stderr


def test_readme_main_job_runs_as_written():
    """The README's first fresh-machine command: the weather agent, a real tool call, offline."""
    import re as _re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    command = _re.search(r"pip install \. && agent (chat .+)", readme)
    assert command, "the README lost its main-job command"
    import shlex

    r = run_agent(*shlex.split(command.group(1)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Right now it is Paris:"), r.stdout
    handoff = run_agent("chat", "agent_specs/weather.yaml", "--sim-script", "agent_specs/scripts/weather.yaml",
                        "-m", "y en español?", "--json")
    data = json.loads(handoff.stdout)
    assert data["agent"] == "spanish" and data["output"].startswith("En Madrid:")
