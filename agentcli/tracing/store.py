"""The trace store: one SQLite file, shared by every agent process of the user.

WAL mode lets readers and one writer work at once; writers take the lock up front (BEGIN IMMEDIATE) and
retry on "database is locked" so many processes recording together lose nothing. The file is created
0600 before SQLite opens it (the -wal/-shm files inherit that mode). Schema changes bump `user_version`.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from agentcli.errors import AgentCliError

SCHEMA_VERSION = 1
_RETRY_FOR_S = 30.0
T = TypeVar("T")

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS traces (
        trace_id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        kind TEXT NOT NULL,
        group_id TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        content INTEGER NOT NULL DEFAULT 1,
        started REAL NOT NULL,
        ended REAL,                 -- NULL until the run's end is recorded: running or unfinished
        status TEXT,                -- ok | error | interrupted; NULL while not ended
        error TEXT,
        turns INTEGER NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        span_count INTEGER NOT NULL DEFAULT 0,
        error_count INTEGER NOT NULL DEFAULT 0,
        pid INTEGER,
        host TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS traces_by_start ON traces (started)",
    "CREATE INDEX IF NOT EXISTS traces_by_workflow ON traces (workflow, started)",
    # `trace list --errors`: a partial index, so finding the newest failures never scans every trace
    "CREATE INDEX IF NOT EXISTS traces_with_errors ON traces (started) WHERE status = 'error' OR error_count > 0",
    """CREATE TABLE IF NOT EXISTS spans (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_id TEXT,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        t_start REAL NOT NULL,
        t_end REAL NOT NULL,
        status TEXT NOT NULL,       -- ok | error
        error TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (trace_id, span_id)
    )""",
]


def default_path() -> Path:
    from agentcli.paths import agent_home
    from agentcli.tracing import DB_NAME

    return agent_home() / DB_NAME


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def retrying(fn: Callable[[], T], *, budget_s: float = _RETRY_FOR_S) -> T:
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


class TraceStore:
    """A connection to the store. Writes are short IMMEDIATE transactions; reads are plain queries."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open_existing(cls, path: Path | None = None) -> TraceStore | None:
        """The store, or None when nothing was ever recorded (readers never create it)."""
        path = path or default_path()
        return cls.open(path) if path.exists() else None

    @classmethod
    def open(cls, path: Path | None = None) -> TraceStore:
        """Open the store, creating it (mode 0600) when missing."""
        path = path or default_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        try:
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            retrying(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
            store = cls(conn, path)
            store._ensure_schema()
        except sqlite3.DatabaseError as e:
            raise AgentCliError(f"trace store {path} cannot be opened: {e}") from None
        return store

    def _ensure_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise AgentCliError(
                f"trace store {self.path} has schema {version},"
                f" newer than this agentcli knows ({SCHEMA_VERSION}): upgrade agentcli"
            )

        def create() -> None:
            with self.transaction():
                if self.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                    return  # another process created it while we waited for the lock
                for statement in _SCHEMA:
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        retrying(create)

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def write(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements as one transaction, retried as a whole while the database is busy."""
        batch = list(statements)

        def run() -> None:
            with self.transaction():
                for sql, params in batch:
                    self.conn.execute(sql, params)

        retrying(run)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        def run() -> list[sqlite3.Row]:
            cur = self.conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

        return retrying(run)

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (taking the write lock at BEGIN means a
    busy database fails fast at the start, where a retry is safe, never half way)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
