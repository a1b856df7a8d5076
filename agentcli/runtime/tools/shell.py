"""`shell:` tools: an argv list run WITHOUT a shell.

Each "{param}" placeholder is replaced inside the one argv item it appears in, in a single pass, so a
model-supplied value is always part of exactly one argument: `"; rm -rf ~"`, `$(...)`, backticks and
newlines arrive as literal text. An argument that would start with "-" because of a value (the model
answering "--output=/etc/x" for `[sort, "{x}"]`) is refused, since the command would read it as an
option; unless a literal "--" comes earlier in the command (the usual end-of-options marker) or each
param in that argument says `allow_option: true`. "--name={x}" is fine: the dash is the spec's own.
"{{" and "}}" are literal braces. Other `{name}` placeholders must name a declared param.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any

from agentcli.errors import ToolError
from agentcli.runtime.tools.base import Tool, ToolFailed
from agentcli.runtime.tools.proctree import kill_run, new_run_env
from agentcli.spec.model import ShellParam, ShellToolSpec

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_READ_CHUNK = 65536
_EXIT_POLL = 0.02  # seconds between checks that the command has exited


def placeholders(item: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(item) if m.group(1)]


def substitute(item: str, values: dict[str, str]) -> str:
    """One argv item with its placeholders filled; the result is never re-scanned."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        return values[m.group(1)]

    return _PLACEHOLDER.sub(repl, item)


def coerce(name: str, value: Any, param: ShellParam) -> str:
    """A model-supplied value checked against the param's declared type, as argv text."""
    kind = param.type
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise ToolFailed(f"{name} must be a boolean")
        text = "true" if value else "false"
    elif kind == "integer":
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ToolFailed(f"{name} must be an integer")
        text = str(value)
    elif kind == "number":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ToolFailed(f"{name} must be a number") from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ToolFailed(f"{name} must be a number")
        text = str(value)
    else:
        if not isinstance(value, str):
            raise ToolFailed(f"{name} must be a string")
        text = value
    if param.enum is not None and value not in param.enum:
        raise ToolFailed(f"{name} must be one of {param.enum}")
    if "\x00" in text:
        raise ToolFailed(f"{name} contains a NUL byte")
    return text


class ShellCommandTool(Tool):
    def __init__(self, spec: ShellToolSpec, base_dir: str, *, approve: bool = False):
        self.spec = spec
        self.name = spec.name
        self.description = spec.description or f"Run {spec.command[0]}."
        self.approve = approve
        self.timeout = None  # enforced in run(), which also kills the process group
        self.cwd = str(Path(base_dir, spec.cwd)) if spec.cwd else None
        for item in spec.command:
            for ref in placeholders(item):
                if ref not in spec.params:
                    raise ToolError(f"shell tool {spec.name}: command uses {{{ref}}} but params has no {ref}")
        self.parameters = self._schema()

    def _schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        for name, param in self.spec.params.items():
            prop: dict[str, Any] = {"type": _JSON_TYPES[param.type]}
            if param.description:
                prop["description"] = param.description
            if param.enum is not None:
                prop["enum"] = param.enum
            if param.default is None:
                required.append(name)
            else:
                prop["default"] = param.default
            properties[name] = prop
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def argv(self, arguments: dict[str, Any]) -> list[str]:
        """The argv to run, or ToolFailed naming the bad or missing param."""
        unknown = sorted(set(arguments) - set(self.spec.params))
        if unknown:
            raise ToolFailed(f"unknown parameter(s): {', '.join(unknown)}")
        values: dict[str, str] = {}
        for name, param in self.spec.params.items():
            if name in arguments and arguments[name] is not None:
                values[name] = coerce(name, arguments[name], param)
            elif param.default is not None:
                values[name] = coerce(name, param.default, param)
            else:
                raise ToolFailed(f"missing required parameter: {name}")
        argv = [substitute(item, values) for item in self.spec.command]
        for i, (item, arg) in enumerate(zip(self.spec.command, argv, strict=True)):
            if arg.startswith("-") and not item.startswith("-") and "--" not in self.spec.command[:i]:
                names = placeholders(item)
                if not all(self.spec.params[n].allow_option for n in names):
                    raise ToolFailed(
                        f"{names[0] if len(names) == 1 else ', '.join(names)}: a value starting with '-' "
                        f"would be read by {self.spec.command[0]} as an option; give it without the leading '-'"
                    )
        return argv

    async def run(self, arguments: dict[str, Any]) -> str:
        argv = self.argv(arguments)
        run_id, env = new_run_env()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.cwd,
                env=env,
                start_new_session=True,  # its own process group, so a timeout kills the whole tree
            )
        except FileNotFoundError:
            raise ToolFailed(f"command not found: {argv[0]}") from None
        except (PermissionError, NotADirectoryError, OSError) as e:
            raise ToolFailed(f"cannot run {argv[0]}: {e.strerror or e}") from None

        assert proc.stdout is not None
        reader = asyncio.ensure_future(read_capped(proc.stdout, self.spec.max_output_bytes))
        try:
            await asyncio.wait_for(_exited(proc), self.spec.timeout)
        except TimeoutError:
            kill_run(proc.pid, run_id)
            await _settle(proc, reader)
            raise ToolFailed(f"{self.name} timed out after {self.spec.timeout:g}s") from None
        except BaseException:  # cancelled: leave no process behind
            kill_run(proc.pid, run_id)
            await _settle(proc, reader)
            raise
        try:
            data, truncated = await asyncio.wait_for(asyncio.shield(reader), 1.0)
        except TimeoutError:  # a backgrounded descendant still holds the pipe open: end it
            kill_run(proc.pid, run_id)
            await _settle(proc, reader)
            # with every writer gone the reader reached EOF: keep what the command printed
            done = reader.done() and not reader.cancelled() and reader.exception() is None
            data, truncated = reader.result() if done else (b"", False)
        output = data.decode("utf-8", errors="replace")
        if truncated:
            output += f"\n[output truncated at {self.spec.max_output_bytes} bytes]"
        if proc.returncode:
            output += f"\n[exit code {proc.returncode}]"
        return output


async def read_capped(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, bool]:
    """Up to `cap` bytes of the stream; the rest is read and dropped so the writer never blocks."""
    kept = bytearray()
    truncated = False
    while chunk := await stream.read(_READ_CHUNK):
        room = cap - len(kept)
        if len(chunk) > room:
            truncated = True
        if room > 0:
            kept += chunk[:room]
    return bytes(kept), truncated


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Until the command itself has exited. Not proc.wait(): before Python 3.12 that also waits for its
    pipes to close, which a backgrounded descendant can hold open until the timeout."""
    while proc.returncode is None:
        await asyncio.sleep(_EXIT_POLL)


async def _settle(proc: asyncio.subprocess.Process, reader: asyncio.Future[Any]) -> None:
    """Reap the killed command and let the reader reach EOF (every writer is dead), so the pipe
    transport closes now and not in a garbage collector after the loop has closed."""
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(reader), 2.0)
    reader.cancel()
    with contextlib.suppress(BaseException):
        await reader
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(proc.wait(), 2.0)
