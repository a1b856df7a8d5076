"""Named conversations in SQLite, safe with several `agent` processes on one conversation at once.

Each history item is its own row, so saving a turn is a transaction that appends the items this process
added since it last saved (or replaces only the ones it rewrote, e.g. an answer cut short by a barge-in);
it never overwrites items another process appended meanwhile. Concurrent runs on one session therefore
keep every turn, each turn's items together, in the order the turns were saved. A process keeps its own
view in memory: turns that others add show up for the next run that loads the session.

Items are redacted (API keys, secret env values) before they are stored. The store is opened through
agentcli.storage.sqlite (0600 file, WAL, busy timeout); failures raise StoreError, one line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentcli.errors import UsageError
from agentcli.paths import agent_home
from agentcli.redact import Redactor, add_spec_secrets, default_redactor
from agentcli.runtime.conversation import Conversation, auto_session_name
from agentcli.storage import sqlite as db

if TYPE_CHECKING:
    from agentcli.spec.model import Spec

WHAT = "session store"
SCHEMA_VERSION = 2  # 1 (never written as such): the history as one JSON text per session
_COLUMNS = {"name", "id", "agent", "turns", "items", "created", "updated", "seq"}

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sessions (
        name    TEXT PRIMARY KEY,
        id      TEXT NOT NULL,
        agent   TEXT NOT NULL,
        turns   INTEGER NOT NULL,
        items   TEXT NOT NULL,      -- legacy (schema 1): moved into session_items by the upgrade
        created REAL NOT NULL,
        updated REAL NOT NULL,
        seq     INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS session_items (
        row     INTEGER PRIMARY KEY AUTOINCREMENT,
        session TEXT NOT NULL,
        body    TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS session_items_by_session ON session_items (session, row)",
]


class SessionInfo(NamedTuple):
    name: str
    updated: datetime
    turns: int


class _Stored(NamedTuple):
    """What the store holds of a conversation as this process last saw it: how the next save appends."""

    name: str
    turns: int
    rows: list[int]
    bodies: list[str]


class SessionStore:
    def __init__(self, path: Path | None = None, *, redactor: Redactor | None = None):
        self.path = Path(path) if path is not None else agent_home() / "sessions.db"
        self._redactor = redactor  # None: the secrets known at each save (a spec may add some)
        self._ready = False

    # --- opening ------------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = db.connect(self.path, WHAT)
        if not self._ready:
            try:
                self._init(conn)
            except BaseException:
                conn.close()
                raise
            self._ready = True
        return conn

    def _init(self, conn: sqlite3.Connection) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise db.StoreError(WHAT, self.path, db.newer_schema(version, SCHEMA_VERSION))
            if version < SCHEMA_VERSION:
                db.retrying(lambda: self._upgrade(conn))
            else:
                db.check_writable(conn, self.path, WHAT)
        except sqlite3.Error as e:
            raise db.store_error(e, self.path, WHAT) from None

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        with db.transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return  # another process upgraded it while we waited for the lock
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
            ours = {"sessions", "session_items", "sqlite_sequence", "session_specs"}
            if tables - ours or (columns and not _COLUMNS <= columns):
                raise db.StoreError(WHAT, self.path, "not an agentcli session store (another program's tables)")
            for statement in _SCHEMA:
                conn.execute(statement)
            # schema 1 kept each history as one JSON text: move it into rows
            for name, items in conn.execute("SELECT name, items FROM sessions WHERE items != '[]'").fetchall():
                try:
                    parsed = json.loads(items)
                except json.JSONDecodeError:
                    parsed = [{"type": "message", "role": "system", "content": f"[damaged history] {items[:200]}"}]
                conn.executemany("INSERT INTO session_items (session, body) VALUES (?, ?)",
                                 [(name, json.dumps(i, ensure_ascii=False, default=str)) for i in parsed])
            conn.execute("UPDATE sessions SET items = '[]'")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _read(self, fn: Any) -> Any:
        conn = self._conn()
        try:
            return db.retrying(lambda: fn(conn))
        except sqlite3.Error as e:
            raise db.store_error(e, self.path, WHAT) from None
        finally:
            conn.close()

    # --- conversations ------------------------------------------------------------------------------

    def open_or_start(self, spec: Spec, name: str | None = None, *, kind: str = "chat",
                      latest: bool = False, check: bool = True) -> Conversation:
        """The conversation saved as `name` (or the latest one), else a new one named `name` or an auto name
        of this kind. A resumed conversation whose agent the spec no longer has restarts from the entry.
        Opening checks the store can be written, so a broken store fails before any turn is run (with
        `check=False` a new conversation leaves that to the caller: `check_in_background`); the values of
        the env vars the spec names in `api_key_env` are redacted from then on."""
        add_spec_secrets(spec)
        if latest:
            conversation = self.latest()
            if conversation is None:
                raise UsageError(f"no conversation to continue yet (start one with `agent {kind}`)")
        else:
            conversation = self.load(name) if name else None
        if conversation is None:
            if check:
                self._conn().close()
            return Conversation(items=[], agent=spec.entry, name=name or auto_session_name(kind=kind))
        if conversation.agent not in spec.agents:
            conversation.agent = spec.entry
        return conversation

    def check_in_background(self) -> Future[None]:
        """Open the store (creating or upgrading it) and check it can be written, in a thread of its own:
        that is file I/O (a write, a checkpoint, fsyncs), which then overlaps the rest of a run's start-up.
        The future holds the StoreError, if any."""
        future: Future[None] = Future()

        def check() -> None:
            try:
                self._conn().close()
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(e)
            else:
                future.set_result(None)

        threading.Thread(target=check, name="agent-session-store", daemon=True).start()
        return future

    def save(self, conv: Conversation) -> str:
        """Append what `conv` gained since it was loaded or last saved (replacing only items this process
        rewrote) in one transaction; create the session when new. Returns its name (auto when unnamed)."""
        if not conv.name:
            conv.name = auto_session_name()
        name = conv.name
        redactor = self._redactor or default_redactor()
        bodies = [json.dumps(redactor.scrub(i), ensure_ascii=False, default=str) for i in conv.items]
        stored = conv.stored if isinstance(conv.stored, _Stored) and conv.stored.name == name else None
        known = stored.bodies if stored else []
        keep = 0
        while keep < min(len(known), len(bodies)) and known[keep] == bodies[keep]:
            keep += 1
        drop = stored.rows[keep:] if stored else []

        def write(conn: sqlite3.Connection) -> tuple[list[int], int]:
            with db.transaction(conn):
                row = conn.execute("SELECT turns FROM sessions WHERE name = ?", (name,)).fetchone()
                # this process's turns since it last saved, added to what the store holds now
                turns = max(0, (row[0] if row else 0) + conv.turns - (stored.turns if stored else 0))
                if drop:
                    conn.executemany("DELETE FROM session_items WHERE row = ? AND session = ?",
                                     [(r, name) for r in drop])
                rows = []
                for body in bodies[keep:]:
                    cur = conn.execute("INSERT INTO session_items (session, body) VALUES (?, ?)", (name, body))
                    rows.append(int(cur.lastrowid or 0))
                stamp = time.time()
                conn.execute(
                    """INSERT INTO sessions (name, id, agent, turns, items, created, updated, seq)
                       VALUES (?, ?, ?, ?, '[]', ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions))
                       ON CONFLICT(name) DO UPDATE SET agent = excluded.agent, turns = excluded.turns,
                         updated = excluded.updated, seq = excluded.seq""",
                    (name, conv.id, conv.agent, turns, stamp, stamp),
                )
                return rows, turns

        conn = self._conn()
        try:
            rows, _ = db.retrying(lambda: write(conn))
        except sqlite3.Error as e:
            raise db.store_error(e, self.path, WHAT) from None
        finally:
            conn.close()
        kept_rows = stored.rows[:keep] if stored else []
        conv.stored = _Stored(name, conv.turns, kept_rows + rows, bodies)
        return name

    def load(self, name: str) -> Conversation | None:
        return self._load("SELECT name, id, agent, turns FROM sessions WHERE name = ?", (name,))

    def latest(self) -> Conversation | None:
        """The most recently saved conversation."""
        return self._load("SELECT name, id, agent, turns FROM sessions ORDER BY seq DESC LIMIT 1", ())

    def list(self) -> list[SessionInfo]:
        """(name, updated, turns) of every conversation, most recent first."""
        rows = self._read(lambda c: c.execute("SELECT name, updated, turns FROM sessions ORDER BY seq DESC")
                          .fetchall())
        return [SessionInfo(n, datetime.fromtimestamp(u).astimezone(), t) for n, u, t in rows]

    def delete(self, name: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            with db.transaction(conn):
                conn.execute("DELETE FROM session_items WHERE session = ?", (name,))
                return conn.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount > 0

        return bool(self._read(run))

    def _load(self, sql: str, args: tuple[str, ...]) -> Conversation | None:
        def run(conn: sqlite3.Connection) -> tuple[Any, list[Any]] | None:
            conn.execute("BEGIN")  # one snapshot: the session row and its items agree
            try:
                row = conn.execute(sql, args).fetchone()
                if row is None:
                    return None
                items = conn.execute("SELECT row, body FROM session_items WHERE session = ? ORDER BY row",
                                     (row[0],)).fetchall()
                return row, items
            finally:
                conn.execute("COMMIT")

        found = self._read(run)
        if found is None:
            return None
        (name, conv_id, agent, turns), items = found
        parsed = []
        for _, body in items:
            try:
                parsed.append(json.loads(body))
            except json.JSONDecodeError:
                raise db.StoreError(WHAT, self.path, f"session {name} is damaged (an item is not JSON)") from None
        conv = Conversation(items=parsed, agent=agent, name=name, id=conv_id, turns=turns)
        conv.stored = _Stored(name, turns, [r for r, _ in items], [b for _, b in items])
        return conv

    # --- for `agent sessions` and `agent chat -c` (additive: which spec a conversation was last run with,
    #     kept in a table of its own) --------------------------------------------------------------------
    def record_spec(self, name: str, spec_id: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with db.transaction(conn):
                conn.execute(_SPECS_SCHEMA)
                conn.execute("INSERT INTO session_specs (name, spec) VALUES (?, ?) "
                             "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec", (name, spec_id))

        self._read(run)

    def spec_of(self, name: str) -> str | None:
        """The spec `name` was last run with (see `spec_identity`), None when not recorded."""
        def run(conn: sqlite3.Connection) -> Any:
            if not _has_specs(conn):
                return None
            return conn.execute("SELECT spec FROM session_specs WHERE name = ?", (name,)).fetchone()

        row = self._read(run)
        return row[0] if row else None

    def summaries(self) -> list[SessionSummary]:
        """Every conversation, most recent first, with its agent, turns, item count and spec."""
        def run(conn: sqlite3.Connection) -> list[Any]:
            spec = "(SELECT spec FROM session_specs p WHERE p.name = s.name)" if _has_specs(conn) else "NULL"
            return conn.execute(
                f"""SELECT s.name, s.agent, s.turns,
                          (SELECT COUNT(*) FROM session_items i WHERE i.session = s.name),
                          s.created, s.updated, {spec}
                   FROM sessions s ORDER BY s.seq DESC"""
            ).fetchall()

        return [SessionSummary(n, a, t, i or 0, datetime.fromtimestamp(c).astimezone(),
                               datetime.fromtimestamp(u).astimezone(), sp)
                for n, a, t, i, c, u, sp in self._read(run)]

    def forget_spec(self, name: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if _has_specs(conn):
                with db.transaction(conn):
                    conn.execute("DELETE FROM session_specs WHERE name = ?", (name,))

        self._read(run)


_SPECS_SCHEMA = "CREATE TABLE IF NOT EXISTS session_specs (name TEXT PRIMARY KEY, spec TEXT NOT NULL)"


def _has_specs(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_specs'").fetchone() \
        is not None


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
