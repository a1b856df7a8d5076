"""The agent spec format, as pydantic models. Unknown keys are errors everywhere (extra="forbid")."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

_NAME = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSettings(Strict):
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, gt=0)
    tool_choice: str | None = None  # auto | required | none | a tool name
    parallel_tool_calls: bool | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class Provider(Strict):
    base_url: str | None = None  # default: $OPENAI_BASE_URL, else OpenAI
    api_key_env: str = "OPENAI_API_KEY"  # the env var holding the key; never the key itself
    api: Literal["responses", "chat"] = "responses"
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)


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


class ShellToolSpec(Strict):
    name: str = Field(pattern=_NAME)
    description: str = ""
    command: list[str] = Field(min_length=1)  # argv; "{param}" placeholders, never run through a shell
    params: dict[str, ShellParam] = Field(default_factory=dict)
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


ToolSpec = PythonTool | ShellTool | BuiltinTool

TOOL_KINDS = ("python", "shell", "builtin")
BUILTIN_TOOLS: tuple[str, ...] = get_args(BuiltinTool.model_fields["builtin"].annotation)


def _tool_kind(v: Any) -> str | None:
    # A tool is told apart by the key it has, so errors name the real problem, not every union member.
    if isinstance(v, dict):
        return next((k for k in TOOL_KINDS if k in v), None)
    if isinstance(v, PythonTool | ShellTool | BuiltinTool):
        return TOOL_KINDS[(PythonTool, ShellTool, BuiltinTool).index(type(v))]
    return None


ToolEntry = Annotated[
    Annotated[PythonTool, Tag("python")]
    | Annotated[ShellTool, Tag("shell")]
    | Annotated[BuiltinTool, Tag("builtin")],
    Discriminator(
        _tool_kind,
        custom_error_type="tool_kind",
        custom_error_message="a tool needs one of: python, shell, builtin (or a built-in name)",
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


class SttSettings(Strict):
    model: str = "gpt-4o-mini-transcribe"
    language: str | None = None
    prompt: str | None = None


class TtsSettings(Strict):
    model: str = "gpt-4o-mini-tts"
    voice: str = "alloy"
    instructions: str | None = None
    speed: float = Field(1.0, ge=0.25, le=4.0)


class VadSettings(Strict):
    aggressiveness: int = Field(2, ge=0, le=3)
    frame_ms: Literal[10, 20, 30] = 10  # small frames: barge-in within 60 ms
    start_ms: int = Field(30, ge=0)  # voiced time before speech starts (and a barge-in cuts playback)
    silence_ms: int = Field(500, ge=50)  # silence that ends a turn
    preroll_ms: int = Field(300, ge=0)  # audio kept from before the start
    min_utterance_ms: int = Field(300, ge=0)  # shorter is a cough, not a turn
    max_utterance_ms: int = Field(30_000, gt=0)
    echo_ratio: float = Field(3.0, ge=1.0)  # while playing, mic energy must exceed playback's by this much


class InterruptionSettings(Strict):
    """Talking over an answer: playback pauses at once, and is cut only after `min_speech_ms` of speech."""

    min_speech_ms: int = Field(400, ge=0)  # shorter (a cough, "huh"): the answer resumes where it paused


class TurnSettings(Strict):
    """When a hands-free turn ends. After `prepare_ms` of silence the answer is prepared (transcript, agent,
    speech) but held back; it is committed after `complete_ms` when the transcript reads complete (ends in
    . ? !), after vad.silence_ms when it reads neither way, after `max_wait_ms` when it reads unfinished
    (a trailing comma, "and", "um"...). Talking again before it is committed merges the fragments."""

    prepare_ms: int = Field(200, ge=50)
    complete_ms: int = Field(250, ge=50)
    max_wait_ms: int = Field(1500, ge=50)


class VoiceSettings(Strict):
    stt: SttSettings = Field(default_factory=SttSettings)
    tts: TtsSettings = Field(default_factory=TtsSettings)
    vad: VadSettings = Field(default_factory=VadSettings)
    interruption: InterruptionSettings = Field(default_factory=InterruptionSettings)
    turn: TurnSettings = Field(default_factory=TurnSettings)


class TurnDetection(Strict):
    type: Literal["server_vad", "semantic_vad", "none"] = "server_vad"
    threshold: float | None = Field(None, ge=0, le=1)
    prefix_padding_ms: int | None = Field(None, ge=0)
    silence_duration_ms: int | None = Field(None, ge=0)
    idle_timeout_ms: int | None = Field(None, ge=0)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    interrupt_response: bool = True
    create_response: bool = True


class Transcription(Strict):
    model: str = "gpt-4o-mini-transcribe"
    language: str | None = None
    prompt: str | None = None


class RealtimeSettings(Strict):
    model: str = "gpt-realtime"
    voice: str = "marin"
    speed: float = Field(1.0, ge=0.25, le=1.5)
    instructions: str | None = None  # default: the agent's instructions
    turn_detection: TurnDetection = Field(default_factory=TurnDetection)
    transcription: Transcription | None = Field(default_factory=Transcription)
    noise_reduction: Literal["near_field", "far_field"] | None = None
    output_modalities: list[Literal["audio", "text"]] = Field(default_factory=lambda: ["audio"])
    tool_choice: str | None = None


class TracingSettings(Strict):
    enabled: bool = True
    content: bool = True  # false keeps only shapes and timings


class AgentSpec(Strict):
    name: str = Field(pattern=_NAME)
    instructions: str = "You are a helpful assistant."
    handoff_description: str | None = None
    model: str = "gpt-4.1-mini"
    model_settings: ModelSettings = Field(default_factory=ModelSettings)
    provider: Provider = Field(default_factory=Provider)
    tools: list[ToolEntry] = Field(default_factory=list)
    handoffs: list[str] = Field(default_factory=list)  # agent names in this file, or paths to spec files
    input_guardrails: list[Guardrail] = Field(default_factory=list)
    output_guardrails: list[Guardrail] = Field(default_factory=list)
    output_type: dict[str, Any] | None = None  # a JSON schema for structured output
    max_turns: int | None = Field(None, gt=0)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    entry: bool = False  # in a multi-agent file: this agent takes the first turn

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
