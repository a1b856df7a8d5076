"""Named conversations in SQLite, safe with several `agent` processes at once.

WAL mode lets readers and one writer work together; busy_timeout makes a writer wait for another's
transaction instead of failing with "database is locked". Each operation opens its own short
connection, so nothing is held between turns. The file is private (0600): it holds the chat.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from agentcli.errors import AgentCliError, UsageError
from agentcli.paths import agent_home
from agentcli.runtime.conversation import Conversation, auto_session_name

if TYPE_CHECKING:
    from agentcli.spec.model import Spec

BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    name    TEXT PRIMARY KEY,
    id      TEXT NOT NULL,
    agent   TEXT NOT NULL,
    turns   INTEGER NOT NULL,
    items   TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    seq     INTEGER NOT NULL
)
"""


class SessionInfo(NamedTuple):
    name: str
    updated: datetime
    turns: int


class SessionStore:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else agent_home() / "sessions.db"
        self._ready = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._init()
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN ourselves, so a write takes its lock up front.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as e:
            raise AgentCliError(f"cannot open the session store {self.path}: {e}") from None
        return conn

    def _init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file private before SQLite does; SQLite gives -wal/-shm the same mode.
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        conn = self._open()
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as e:
            raise AgentCliError(f"the session store {self.path} is not usable: {e}") from None
        finally:
            conn.close()
        self._ready = True

    def open_or_start(self, spec: Spec, name: str | None = None, *, kind: str = "chat",
                      latest: bool = False) -> Conversation:
        """The conversation saved as `name` (or the latest one), else a new one named `name` or an auto name
        of this kind. A resumed conversation whose agent the spec no longer has restarts from the entry."""
        if latest:
            conversation = self.latest()
            if conversation is None:
                raise UsageError(f"no conversation to continue yet (start one with `agent {kind}`)")
        else:
            conversation = self.load(name) if name else None
        if conversation is None:
            return Conversation(items=[], agent=spec.entry, name=name or auto_session_name(kind=kind))
        if conversation.agent not in spec.agents:
            conversation.agent = spec.entry
        return conversation

    def save(self, conv: Conversation) -> str:
        """Insert or replace the conversation under its name (given an auto name if it has none)."""
        if not conv.name:
            conv.name = auto_session_name()
        items = json.dumps(conv.items, ensure_ascii=False, default=str)
        stamp = time.time()
        with self._connect() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    """INSERT INTO sessions (name, id, agent, turns, items, created, updated, seq)
                       VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions))
                       ON CONFLICT(name) DO UPDATE SET
                         id = excluded.id, agent = excluded.agent, turns = excluded.turns,
                         items = excluded.items, updated = excluded.updated, seq = excluded.seq""",
                    (conv.name, conv.id, conv.agent, conv.turns, items, stamp, stamp),
                )
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise AgentCliError(f"cannot save session {conv.name}: {e}") from None
        return conv.name

    def load(self, name: str) -> Conversation | None:
        return self._one("SELECT name, id, agent, turns, items FROM sessions WHERE name = ?", (name,))

    def latest(self) -> Conversation | None:
        """The most recently saved conversation."""
        return self._one("SELECT name, id, agent, turns, items FROM sessions ORDER BY seq DESC LIMIT 1", ())

    def list(self) -> list[SessionInfo]:
        """(name, updated, turns) of every conversation, most recent first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT name, updated, turns FROM sessions ORDER BY seq DESC").fetchall()
        return [SessionInfo(n, datetime.fromtimestamp(u).astimezone(), t) for n, u, t in rows]

    def delete(self, name: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute("DELETE FROM sessions WHERE name = ?", (name,))
        return cur.rowcount > 0

    def _one(self, sql: str, args: tuple[str, ...]) -> Conversation | None:
        with self._connect() as conn:
            row = conn.execute(sql, args).fetchone()
        if row is None:
            return None
        name, conv_id, agent, turns, items = row
        try:
            parsed = json.loads(items)
        except json.JSONDecodeError:
            raise AgentCliError(f"session {name} is damaged (its history is not JSON)") from None
        return Conversation(items=parsed, agent=agent, name=name, id=conv_id, turns=turns)

    # -- for `agent sessions` and `agent chat -c` (additive: which spec a conversation was last run with,
    #    kept in its own table so the sessions table itself is unchanged) ------------------------------
    def record_spec(self, name: str, spec_id: str) -> None:
        with self._connect() as conn:
            try:
                conn.execute(_SPECS_SCHEMA)
                conn.execute("INSERT INTO session_specs (name, spec) VALUES (?, ?) "
                             "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec", (name, spec_id))
            except sqlite3.Error as e:
                raise AgentCliError(f"cannot save session {name}: {e}") from None

    def spec_of(self, name: str) -> str | None:
        """The spec `name` was last run with (see `spec_identity`), None when not recorded."""
        with self._connect() as conn:
            conn.execute(_SPECS_SCHEMA)
            row = conn.execute("SELECT spec FROM session_specs WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def summaries(self) -> list[SessionSummary]:
        """Every conversation, most recent first, with its agent, turns, item count and spec."""
        with self._connect() as conn:
            conn.execute(_SPECS_SCHEMA)
            rows = conn.execute(
                """SELECT s.name, s.agent, s.turns, json_array_length(s.items), s.created, s.updated, p.spec
                   FROM sessions s LEFT JOIN session_specs p ON p.name = s.name ORDER BY s.seq DESC"""
            ).fetchall()
        return [SessionSummary(n, a, t, i or 0, datetime.fromtimestamp(c).astimezone(),
                               datetime.fromtimestamp(u).astimezone(), sp)
                for n, a, t, i, c, u, sp in rows]

    def forget_spec(self, name: str) -> None:
        with self._connect() as conn:
            conn.execute(_SPECS_SCHEMA)
            conn.execute("DELETE FROM session_specs WHERE name = ?", (name,))


_SPECS_SCHEMA = "CREATE TABLE IF NOT EXISTS session_specs (name TEXT PRIMARY KEY, spec TEXT NOT NULL)"


class SessionSummary(NamedTuple):
    name: str
    agent: str
    turns: int
    items: int
    created: datetime
    updated: datetime
    spec: str | None


def spec_identity(spec: Spec) -> str:
    """What tells specs apart for `-c`: the spec file's absolute path, else `<entry> (no file)` for the
    built-in assistant or a spec read from stdin."""
    return os.path.abspath(spec.path) if spec.path else f"{spec.entry} (no file)"
