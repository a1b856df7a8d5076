"""One way to open agentcli's SQLite files (conversations, traces) and one error for when that fails.

Every store gets the same setup: the folder 0700 and the file 0600 before SQLite touches them (the -wal and
-shm files inherit the mode), WAL so readers never block the one writer, a busy timeout plus a retry loop
so several `agent` processes at once lose nothing, and write transactions that take the lock up front
(BEGIN IMMEDIATE) so a busy database fails at the start, where a retry is safe. Any SQLite or OS failure
becomes a StoreError whose message names the file and says why in words ("disk full", "read-only").
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from agentcli.storage.files import StoreError, private_file, reason_of

__all__ = ["StoreError", "check_writable", "connect", "newer_schema", "retrying", "store_error", "transaction"]

BUSY_TIMEOUT_S = 30.0
# the WAL is truncated back to this after a checkpoint, so a big run leaves no big file behind
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
T = TypeVar("T")


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
