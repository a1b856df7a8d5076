"""The agent spec format, as pydantic models. Unknown keys are errors everywhere (extra="forbid")."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, PrivateAttr, Tag, field_validator, model_validator

from agentcli.spec.speech_settings import (  # noqa: F401 - re-exported: the spec format is one namespace
    GeminiActivityDetection,
    GeminiCompression,
    GeminiSettings,
    InterruptionSettings,
    RealtimeSettings,
    StageProvider,
    SttSettings,
    Transcription,
    TtsSettings,
    TurnDetection,
    TurnSettings,
    VadSettings,
    VoiceSettings,
)
from agentcli.spec.strict import Strict

_NAME = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"


# Python functions as default factories (these, or lambdas for models): pydantic reads each factory's
# signature while it builds a model, which for a builtin (list, dict) or a model class is slow (~2 ms of
# every start-up over the spec's models).
def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


class ModelSettings(Strict):
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, gt=0)
    tool_choice: str | None = None  # auto | required | none | a tool name
    parallel_tool_calls: bool | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None


class Provider(Strict):
    base_url: str | None = None  # default: $OPENAI_BASE_URL, else OpenAI
    api_key_env: str = "OPENAI_API_KEY"  # the env var holding the key; never the key itself
    api: Literal["responses", "chat"] = "responses"
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s?#]+", v, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// URL with a host")
        return v


class ToolBase(Strict):
    approve: bool = False  # ask the user before running it


class PythonTool(ToolBase):
    python: str  # "module:function"; the spec's folder is importable
    name: str | None = Field(None, pattern=_NAME)  # default: the function's name
    description: str | None = None  # default: the docstring
    timeout: float | None = Field(None, gt=0)

    @field_validator("python")
    @classmethod
    def _ref(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", v):
            raise ValueError("must look like 'module:function'")
        return v


class ShellParam(Strict):
    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str | None = None
    enum: list[Any] | None = None
    default: Any = None
    allow_option: bool = False  # let a value starting with "-" begin an argument (else refused, unless after "--")


class ShellToolSpec(Strict):
    name: str = Field(pattern=_NAME)
    description: str = ""
    command: list[str] = Field(min_length=1)  # argv; "{param}" placeholders, never run through a shell
    params: dict[str, ShellParam] = Field(default_factory=_new_dict)
    timeout: float = Field(30.0, gt=0)
    max_output_bytes: int = Field(64_000, gt=0)
    cwd: str | None = None


class ShellTool(ToolBase):
    shell: ShellToolSpec


class BuiltinTool(ToolBase):
    builtin: Literal["current_time", "read_file"]
    root: str | None = None  # read_file: the folder it may read (relative to the spec); required for it

    @model_validator(mode="after")
    def _root(self) -> BuiltinTool:
        if self.builtin == "read_file" and not self.root:
            raise ValueError("read_file needs `root:`, the folder it may read")
        return self


class AgentTool(ToolBase):
    agent: str  # an agent in this file, or a path to a spec file (its entry agent); runs as a tool
    name: str | None = Field(None, pattern=_NAME)  # default: the agent's name
    description: str | None = None  # default: its handoff_description, else "Ask <name>."
    max_turns: int | None = Field(None, gt=0)  # model calls of one sub-run (default: the agent's)


ToolSpec = PythonTool | ShellTool | BuiltinTool | AgentTool

TOOL_KINDS = ("python", "shell", "builtin", "agent")
BUILTIN_TOOLS: tuple[str, ...] = get_args(BuiltinTool.model_fields["builtin"].annotation)


def _tool_kind(v: Any) -> str | None:
    # A tool is told apart by the key it has, so errors name the real problem, not every union member.
    if isinstance(v, dict):
        return next((k for k in TOOL_KINDS if k in v), None)
    if isinstance(v, PythonTool | ShellTool | BuiltinTool | AgentTool):
        return TOOL_KINDS[(PythonTool, ShellTool, BuiltinTool, AgentTool).index(type(v))]
    return None


ToolEntry = Annotated[
    Annotated[PythonTool, Tag("python")]
    | Annotated[ShellTool, Tag("shell")]
    | Annotated[BuiltinTool, Tag("builtin")]
    | Annotated[AgentTool, Tag("agent")],
    Discriminator(
        _tool_kind,
        custom_error_type="tool_kind",
        custom_error_message="a tool needs one of: python, shell, builtin, agent (or a built-in name)",
    ),
]


class Guardrail(Strict):
    name: str | None = None
    regex: str | None = None  # trips when it matches (case-insensitive)
    keywords: list[str] | None = None  # trips when any appears (case-insensitive, whole words)
    python: str | None = None  # "module:function"(text) -> bool | str | None; truthy trips
    message: str | None = None  # what the user sees (input) or the replacement answer (output)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"bad regex: {e}") from None
        return v

    @field_validator("python")
    @classmethod
    def _ref(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", v):
            raise ValueError("must look like 'module:function'")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> Guardrail:
        kinds = [k for k in ("regex", "keywords", "python") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of regex, keywords, python")
        return self

    @property
    def label(self) -> str:
        return (
            self.name or self.python or (f"regex:{self.regex}" if self.regex else f"keywords:{self.keywords}")
        )


class McpToolFilter(Strict):
    allow: list[str] | None = None  # only these of the server's tools (default: all)
    deny: list[str] = Field(default_factory=_new_list)


class McpServer(Strict):
    """An MCP server whose tools the agent may call: a stdio command (argv, never a shell) or a URL."""

    name: str = Field(pattern=_NAME)
    command: list[str] | None = Field(None, min_length=1)  # stdio: argv of the server process
    env: dict[str, str] = Field(default_factory=_new_dict)  # stdio: added to a minimal inherited environment
    cwd: str | None = None  # stdio: relative to the spec's folder
    url: str | None = None  # streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp
    headers: dict[str, str] = Field(default_factory=_new_dict)  # HTTP: e.g. Authorization: "Bearer ${TOKEN}"
    tools: McpToolFilter = Field(default_factory=lambda: McpToolFilter())
    approve: bool = False  # ask the user before each call
    timeout: float = Field(60.0, gt=0)  # per tool call
    start_timeout: float = Field(20.0, gt=0)  # connect, initialize and list tools
    max_output_bytes: int = Field(64_000, gt=0)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (streamable HTTP)")
        if self.url is not None and not re.match(r"^https?://", self.url):
            raise ValueError("url must start with http:// or https://")
        if self.url is not None and (self.env or self.cwd):
            raise ValueError("env and cwd are for command servers")
        if self.command is not None and self.headers:
            raise ValueError("headers are for url servers")
        return self


class StopAtTools(Strict):
    stop_at_tools: list[str] = Field(min_length=1)


ToolUseBehavior = Literal["run_llm_again", "stop_on_first_tool"] | StopAtTools


class TracingSettings(Strict):
    enabled: bool = True
    content: bool = True  # false keeps only shapes and timings


class AgentSpec(Strict):
    name: str = Field(pattern=_NAME)
    instructions: str = "You are a helpful assistant."
    handoff_description: str | None = None
    model: str = "gpt-4.1-mini"
    model_settings: ModelSettings = Field(default_factory=lambda: ModelSettings())
    provider: Provider = Field(default_factory=lambda: Provider())
    tools: list[ToolEntry] = Field(default_factory=_new_list)
    handoffs: list[str] = Field(default_factory=_new_list)  # agent names in this file, or paths to spec files
    mcp_servers: list[McpServer] = Field(default_factory=_new_list)
    tool_use_behavior: ToolUseBehavior = "run_llm_again"  # as openai-agents: stop at a tool's output?
    input_guardrails: list[Guardrail] = Field(default_factory=_new_list)
    output_guardrails: list[Guardrail] = Field(default_factory=_new_list)
    output_type: dict[str, Any] | None = None  # a JSON schema for structured output
    max_turns: int | None = Field(None, gt=0)
    voice: VoiceSettings = Field(default_factory=lambda: VoiceSettings())
    realtime: RealtimeSettings = Field(default_factory=lambda: RealtimeSettings())
    tracing: TracingSettings = Field(default_factory=lambda: TracingSettings())
    entry: bool = False  # in a multi-agent file: this agent takes the first turn
    # Where the agent was written (an agentcli.spec.positions.Origin), set by the loader, so errors
    # found later (a tool that cannot be built) still point at their line: see `where()`.
    _origin: Any = PrivateAttr(default=None)

    def where(self, loc: tuple[str | int, ...], message: str) -> str:
        """`message` as a `path:line:col: field: message` line for the field at `loc` (relative to this
        agent), or `message` unchanged for an agent that was not loaded from a file."""
        return self._origin.line(loc, message) if self._origin is not None else message

    @field_validator("model")
    @classmethod
    def _model_named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must name a model (it is empty)")
        return v

    @field_validator("mcp_servers")
    @classmethod
    def _unique_servers(cls, v: list[McpServer]) -> list[McpServer]:
        names = [s.name for s in v]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two MCP servers are named {twice[0]!r}")
        return v

    @field_validator("tools", mode="before")
    @classmethod
    def _builtin_shorthand(cls, v: Any) -> Any:
        # `- current_time` is shorthand for `- builtin: current_time`
        if isinstance(v, list):
            return [{"builtin": t} if isinstance(t, str) else t for t in v]
        return v


class SpecFile(Strict):
    """A file of several agents. A file of one agent is just an AgentSpec at the top level."""

    agents: list[AgentSpec] = Field(min_length=1)


class Spec:
    """A loaded spec: every agent reachable from the entry, by name, plus where it came from.

    After loading, every handoff of every agent is an agent *name* and `agents[name]` exists for it.
    """

    def __init__(
        self,
        agents: dict[str, AgentSpec],
        entry: str,
        path: str | None,
        sources: dict[str, str] | None = None,
    ):
        self.agents = agents
        self.entry = entry
        self.path = path  # None for the built-in default or stdin
        self.sources = sources or {}  # agent name -> absolute path of the file it came from

    @property
    def entry_agent(self) -> AgentSpec:
        return self.agents[self.entry]

    @property
    def base_dir(self) -> str:
        import os

        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def base_dir_for(self, agent: str) -> str:
        """The folder an agent's relative paths (python tool modules, read_file root) resolve against:
        the folder of the file that defined it, which differs from `base_dir` after a file handoff."""
        import os

        source = self.sources.get(agent)
        return os.path.dirname(source) if source else self.base_dir
