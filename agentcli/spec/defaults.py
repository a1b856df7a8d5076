"""The built-in assistant (used when no spec is given) and the starter file `agent spec new` writes."""

from __future__ import annotations

import re

from agentcli.errors import UsageError
from agentcli.spec.model import _NAME, AgentSpec, BuiltinTool, Spec

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, concise assistant. Answer directly; say so when you do not know. "
    "Use the current_time tool when the answer depends on today's date or time."
)


def default_spec() -> Spec:
    """A plain assistant named "assistant" with the current_time tool."""
    agent = AgentSpec(
        name="assistant", instructions=DEFAULT_INSTRUCTIONS, tools=[BuiltinTool(builtin="current_time")]
    )
    return Spec({agent.name: agent}, agent.name, None)


_STARTER = """\
# Agent spec for agentcli. Check it with: agent spec validate {file}
# Editor completion: agent spec schema > agent-spec.schema.json, then keep the next line.
# yaml-language-server: $schema=agent-spec.schema.json

# The agent's name: letters, digits, _ and -, starting with a letter.
name: {name}
instructions: |              # the system prompt
  You are {name}, a helpful and concise assistant.
  Use your tools when they help; say so when you do not know.
model: gpt-4.1-mini          # any model your provider serves
model_settings:
  temperature: 0.3           # 0..2; leave out for the model's default
# provider:                  # default: OpenAI, key from $OPENAI_API_KEY
#   base_url: http://localhost:8000/v1
#   api_key_env: MY_API_KEY  # the variable's NAME, never the key itself
#   api: responses           # responses | chat (chat completions)

tools:
  - current_time             # a built-in: current_time | read_file
  # - python: my_tools:lookup        # module:function, imported from this spec's folder
  #   approve: true                  # ask before each call
  # - shell:
  #     name: disk_usage
  #     description: Disk usage of a folder
  #     command: ["du", "-sh", "{{path}}"]   # argv, never run through a shell
  #     params:
  #       path: {{type: string, description: The folder}}

# handoffs: [other_agent]    # agents in the same file (agents: [...]) or other spec files (x.yaml)
# input_guardrails:          # checked before the model sees the user's input
#   - keywords: [password]
#     message: I can't help with that.
# output_guardrails:         # checked on the answer; `message` replaces it when tripped
#   - regex: "sk-[A-Za-z0-9]{{20,}}"
#     message: "[redacted]"

voice:
  tts:
    voice: alloy             # the voice `agent voice` speaks with
realtime:
  voice: marin               # the voice `agent voice --realtime` speaks with

# Strings may use ${{ENV_VAR}}; write $${{ for a literal ${{.
"""


def starter_spec(name: str, *, file: str | None = None) -> str:
    """A commented single-agent spec that validates as it is. `file`: the name it will be saved as."""
    if not re.match(_NAME, name):
        raise UsageError(
            f"bad agent name {name!r}: start with a letter; use only letters, digits, _ and - (at most 64)"
        )
    return _STARTER.format(name=name, file=file or f"{name}.yaml")
