"""Private files and folders for what agentcli writes about the user (stores, recordings, logs): folders
0700, files 0600, and one error class, StoreError, whose message names the path and says why in words.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path
from typing import Any, TextIO

from agentcli.errors import AgentCliError


class StoreError(AgentCliError):
    """A store cannot be used (folder, file or database): one line, exit 1. `reason` is the short why."""

    def __init__(self, what: str, path: Path, reason: str) -> None:
        self.what, self.path, self.reason = what, path, reason
        super().__init__(f"cannot use the {what} {path}: {reason}")


def _free_bytes(path: Path) -> int | None:
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def _read_only_fs(path: Path) -> bool:
    for candidate in (path, *path.parents):
        try:
            return bool(os.statvfs(candidate).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def reason_of(exc: BaseException, path: Path) -> str:
    """Why a store failed, in words; "disk full" also when SQLite only says "disk I/O error" on a full disk."""
    if isinstance(exc, OSError):
        code = exc.errno
        if code == errno.ENOSPC or code == errno.EDQUOT:
            return "disk full"
        if code == errno.EROFS:
            return "read-only filesystem"
        if code in (errno.EACCES, errno.EPERM):
            return "permission denied"
        if code == errno.ENOTDIR:
            return "a parent of it is a file, not a folder"
        if code == errno.EISDIR:
            return "it is a folder, not a file"
        return exc.strerror or type(exc).__name__
    text = str(exc).lower()
    if "full" in text:
        return "disk full"
    if "not a database" in text or "malformed" in text:
        return "not an agentcli database (corrupt, or another program's file)"
    if "readonly" in text or "read-only" in text:
        return "read-only (check the file's and the folder's permissions)"
    if "disk i/o" in text or "unable to open" in text:
        if path.is_dir():
            return "it is a folder, not a file"
        free = _free_bytes(path)
        if free == 0:
            return "disk full"
        if _read_only_fs(path):
            return "read-only filesystem"
        if not os.access(path.parent, os.W_OK):
            return "read-only or no permission to write the folder"
        return "disk I/O error" if "disk i/o" in text else "cannot open the file"
    return str(exc) or type(exc).__name__


def private_dir(path: Path, what: str = "state folder") -> Path:
    """`path` as a folder, created 0700 with its parents when missing."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise StoreError(what, path, "it is a file, not a folder") from None
    except OSError as e:
        raise StoreError(what, path, reason_of(e, path)) from None
    if not path.is_dir():
        raise StoreError(what, path, "it is a file, not a folder")
    return path


def private_file(path: Path, what: str) -> None:
    """Create `path` 0600 (empty) in a 0700 folder unless it exists, so no other user can ever read it."""
    private_dir(path.parent, what)
    if path.is_dir():
        raise StoreError(what, path, "it is a folder, not a file")
    if path.exists():
        return  # opened as it is: a read-only store can still be read
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    except OSError as e:
        raise StoreError(what, path, reason_of(e, path)) from None
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def open_private(path: Path | str, mode: str = "a") -> TextIO:
    """Open a text file for writing ("a" or "w"), created 0600 when missing (e.g. a log of transcripts)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)  # an existing file too: what goes in is private
    return os.fdopen(fd, mode, encoding="utf-8", buffering=1)


def make_private(path: Path) -> None:
    """chmod 0600 a file some other code created (a WAV writer): the folder is 0700 already."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def write_json_private(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON in one step (a reader or a crash never sees half a file), 0600."""
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w") as f:
        f.write(json.dumps(data, indent=2, ensure_ascii=False))
    os.replace(tmp, path)
