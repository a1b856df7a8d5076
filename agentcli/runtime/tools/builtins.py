"""Built-in tools: `current_time` and `read_file` (confined to one folder)."""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcli.errors import ToolError
from agentcli.runtime.tools.base import Tool, ToolFailed

READ_FILE_MAX_BYTES = 100_000
_DIR_LISTING_MAX = 500


class CurrentTimeTool(Tool):
    name = "current_time"
    description = (
        "The current date and time as ISO 8601 with its UTC offset. "
        "Local time unless an IANA time zone (e.g. Europe/Paris) is given."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "timezone": {
                "type": ["string", "null"],
                "description": "IANA time zone name, e.g. America/New_York; omit for local time",
            }
        },
        "required": [],
        "additionalProperties": False,
    }

    def __init__(self, *, approve: bool = False):
        self.approve = approve

    async def run(self, arguments: dict[str, Any]) -> str:
        return current_time(arguments.get("timezone"))


def current_time(timezone: str | None = None, now: datetime | None = None) -> str:
    moment = now or datetime.now().astimezone()
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolFailed(f"unknown time zone {timezone!r}; use an IANA name like Europe/Paris") from None
        moment = moment.astimezone(zone)
    return moment.isoformat(timespec="seconds")


class ReadFileTool(Tool):
    name = "read_file"
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "a path relative to the allowed folder"}},
        "required": ["path"],
        "additionalProperties": False,
    }

    def __init__(self, root: str, base_dir: str, *, approve: bool = False):
        self.root = Path(base_dir, root).resolve()
        if not self.root.is_dir():
            raise ToolError(f"read_file: root {root!r} is not a folder (resolved to {self.root})")
        self.description = (
            "Read a text file (or list a folder) inside the allowed folder. "
            f"Paths are relative to it; at most {READ_FILE_MAX_BYTES} bytes are returned."
        )
        self.approve = approve

    def resolve(self, path: str) -> Path:
        """The real path of `path` under the root; ToolFailed if it (or a symlink in it) leads outside."""
        if not isinstance(path, str) or not path.strip():
            raise ToolFailed("path must be a non-empty string")
        if "\x00" in path:
            raise ToolFailed("path contains a NUL byte")
        target = (self.root / path).resolve()  # follows every symlink and `..`
        if not target.is_relative_to(self.root):
            raise ToolFailed(f"{path} is outside the folder this tool may read")
        return target

    async def run(self, arguments: dict[str, Any]) -> str:
        return await asyncio.to_thread(self.read, arguments.get("path", ""))

    def read(self, path: str) -> str:
        target = self.resolve(path)
        if target.is_dir():
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())
            more = len(names) - _DIR_LISTING_MAX
            listing = "\n".join(names[:_DIR_LISTING_MAX])
            return listing + (f"\n[{more} more entries]" if more > 0 else "")
        try:
            # Before opening: opening a FIFO blocks until a writer comes (forever, and in a thread
            # Ctrl-C cannot reach), and opening some devices has effects of its own.
            kind = _not_regular(os.stat(target).st_mode)
            if kind:
                raise ToolFailed(f"{path} is {kind}, not a regular file")
            # O_NOFOLLOW: the final component cannot have become a symlink since resolve();
            # O_NONBLOCK: nor can a FIFO swapped in since the stat() block the open.
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise ToolFailed(f"no such file: {path}") from None
        except OSError as e:
            raise ToolFailed(f"cannot read {path}: {e.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            kind = _not_regular(os.fstat(f.fileno()).st_mode)
            if kind:
                raise ToolFailed(f"{path} is {kind}, not a regular file")
            data = f.read(READ_FILE_MAX_BYTES + 1)
        text = data[:READ_FILE_MAX_BYTES].decode("utf-8", errors="replace")
        if len(data) > READ_FILE_MAX_BYTES:
            text += f"\n[truncated at {READ_FILE_MAX_BYTES} bytes]"
        return text


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", "a device", ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
