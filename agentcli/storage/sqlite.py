"""One way to open agentcli's SQLite files (conversations, traces) and one error for when that fails.

Every store gets the same setup: the folder 0700 and the file 0600 before SQLite touches them (the -wal and
-shm files inherit the mode), WAL so readers never block the one writer, a busy timeout plus a retry loop
so several `agent` processes at once lose nothing, and write transactions that take the lock up front
(BEGIN IMMEDIATE) so a busy database fails at the start, where a retry is safe. Any SQLite or OS failure
becomes a StoreError whose message names the file and says why in words ("disk full", "read-only").
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from agentcli.errors import AgentCliError

BUSY_TIMEOUT_S = 30.0
# the WAL is truncated back to this after a checkpoint, so a big run leaves no big file behind
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
T = TypeVar("T")


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


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def retrying(fn: Callable[[], T], *, budget_s: float = BUSY_TIMEOUT_S) -> T:
    """Run fn, retrying with jittered backoff while SQLite reports the database locked/busy."""
    deadline = time.monotonic() + budget_s
    delay = 0.002
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not _is_busy(e) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.1)


def connect(path: Path, what: str, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating when missing) the database at `path` with the shared pragmas. Raises StoreError."""
    private_file(path, what)
    conn: sqlite3.Connection | None = None
    try:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), never implicit
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=check_same_thread)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if retrying(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":  # type: ignore[union-attr]
            retrying(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())  # type: ignore[union-attr]
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    except sqlite3.Error as e:
        if conn is not None:
            conn.close()
        raise StoreError(what, path, reason_of(e, path)) from None
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (the write lock is taken at BEGIN)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise


def check_writable(conn: sqlite3.Connection, path: Path, what: str) -> None:
    """Fail now, before any work is done, when the store can be read but not written (read-only file,
    folder or filesystem): better than losing a turn at its end."""
    try:
        with transaction(conn):
            conn.execute("CREATE TABLE IF NOT EXISTS _agentcli_probe (x INTEGER)")
            conn.execute("DROP TABLE _agentcli_probe")
    except sqlite3.Error as e:
        raise StoreError(what, path, reason_of(e, path)) from None


def store_error(e: BaseException, path: Path, what: str) -> StoreError:
    """The StoreError for a failure while using an open store."""
    return e if isinstance(e, StoreError) else StoreError(what, path, reason_of(e, path))


def newer_schema(found: int, known: int) -> str:
    return f"schema {found}, newer than this agentcli knows ({known}): upgrade agentcli"
