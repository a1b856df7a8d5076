"""The trace store: one SQLite file, shared by every agent process of the user.

Opened like every store (agentcli.storage.sqlite: 0600 file, WAL, busy timeout, writes that take the lock
up front and are retried while another process holds it), so many processes recording together lose
nothing; failures raise StoreError. Schema changes bump `user_version`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentcli.storage import sqlite as db
from agentcli.storage.sqlite import StoreError, retrying

__all__ = ["SCHEMA_VERSION", "StoreError", "TraceStore", "default_path", "retrying"]
SCHEMA_VERSION = 1
WHAT = "trace store"

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
        """Open the store, creating it (mode 0600) when missing. Raises StoreError."""
        path = path or default_path()
        conn = db.connect(path, WHAT, check_same_thread=False)
        store = cls(conn, path)
        try:
            store._ensure_schema()
        except sqlite3.Error as e:
            conn.close()
            raise db.store_error(e, path, WHAT) from None
        except BaseException:
            conn.close()
            raise
        return store

    def _ensure_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(WHAT, self.path, db.newer_schema(version, SCHEMA_VERSION))

        def create() -> None:
            with self.transaction():
                tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables - {"traces", "spans"}:
                    raise StoreError(WHAT, self.path, "not an agentcli trace store (another program's tables)")
                if self.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                    return  # another process created it while we waited for the lock
                for statement in _SCHEMA:
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        retrying(create)

    def transaction(self) -> Any:
        """BEGIN IMMEDIATE ... COMMIT on this store's connection (a context manager)."""
        return db.transaction(self.conn)

    def write(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements as one transaction, retried as a whole while the database is busy."""
        batch = list(statements)

        def run() -> None:
            with self.transaction():
                for sql, params in batch:
                    self.conn.execute(sql, params)

        try:
            retrying(run)
        except sqlite3.Error as e:
            raise db.store_error(e, self.path, WHAT) from None

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        def run() -> list[sqlite3.Row]:
            cur = self.conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

        try:
            return retrying(run)
        except sqlite3.Error as e:
            raise db.store_error(e, self.path, WHAT) from None

    def close(self) -> None:
        self.conn.close()
