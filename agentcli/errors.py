"""Errors that reach the user as one line and an exit code, never a traceback."""

from __future__ import annotations


class AgentCliError(Exception):
    """A runtime failure the user should read: printed as one line, exit code 1."""

    exit_code = 1


class UsageError(AgentCliError):
    """Bad command-line usage: exit code 2."""

    exit_code = 2


class SpecError(UsageError):
    """A broken spec. `problems` holds lines shaped `path:line:col: field.path: message`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ModelError(AgentCliError):
    """The model server failed (auth, unreachable, bad response, dropped stream)."""


class ToolError(AgentCliError):
    """A tool could not be built (bad import path, bad shell spec)."""


class MaxTurnsExceeded(AgentCliError):
    def __init__(self, max_turns: int):
        super().__init__(f"stopped after {max_turns} model turns (max_turns); raise it with --max-turns")
        self.max_turns = max_turns


class ApprovalRefused(AgentCliError):
    """A tool needing approval could not ask (no TTY and no --yes)."""


class AudioError(AgentCliError):
    """No PortAudio, no device, a bad WAV."""


def error_kind(err: BaseException) -> str:
    """How an ErrorEvent classes a failure: model, audio, or runtime."""
    if isinstance(err, ModelError):
        return "model"
    if isinstance(err, AudioError):
        return "audio"
    return "runtime"
