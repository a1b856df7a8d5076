"""Reading the store: list, resolve an id (prefix or `latest`), load one trace, prune. Shapes are the stable
--json shapes documented in README.md."""

from __future__ import annotations

import json
import os
import platform
import re
import sqlite3
import time
from typing import Any

from agentcli.errors import AgentCliError, UsageError
from agentcli.tracing.store import TraceStore, retrying

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TRACE_COLS = (
    "trace_id, workflow, kind, group_id, metadata, content, started, ended, status, error, turns,"
    " input_tokens, output_tokens, span_count, error_count, pid, host"
)


def parse_age(text: str, option: str) -> float:
    """`30m`, `1h`, `2d`, `1w` (also `90s`) -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise UsageError(f"{option}: expected a duration like 30m, 1h, 2d or 1w, got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _alive(pid: int | None, host: str | None) -> bool:
    if not pid or host != platform.node():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def trace_shape(row: sqlite3.Row) -> dict[str, Any]:
    """A trace row as its --json shape. status: ok | error | interrupted | running | unfinished."""
    status = row["status"]
    if row["ended"] is None:
        status = "running" if _alive(row["pid"], row["host"]) else "unfinished"
    end = row["ended"]
    return {
        "trace_id": row["trace_id"],
        "short_id": row["trace_id"][:8],
        "workflow": row["workflow"],
        "kind": row["kind"],
        "group_id": row["group_id"],
        "metadata": json.loads(row["metadata"] or "{}"),
        "content": bool(row["content"]),
        "start": row["started"],
        "end": end,
        "duration_ms": None if end is None else round((end - row["started"]) * 1000, 3),
        "status": status,
        "error": row["error"],
        "turns": row["turns"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "span_count": row["span_count"],
        "error_count": row["error_count"],
    }


def list_traces(
    store: TraceStore, *, limit: int = 20, agent: str | None = None, since: float | None = None,
    errors: bool = False,
) -> list[dict[str, Any]]:
    where, params = [], []
    if agent:
        where.append("workflow = ?")
        params.append(agent)
    if since is not None:
        where.append("started >= ?")
        params.append(time.time() - since)
    if errors:
        where.append("(status = 'error' OR error_count > 0)")  # the exact term of index traces_with_errors
    sql = f"SELECT {_TRACE_COLS} FROM traces"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started DESC LIMIT ?"
    return [trace_shape(r) for r in store.read(sql, (*params, max(0, limit)))]


def resolve(store: TraceStore | None, ref: str | None) -> str:
    """A full trace id from `latest` (or nothing) or a unique prefix of one, like git."""
    ref = (ref or "latest").strip().lower()
    if store is not None and ref in ("latest", "last"):
        rows = store.read("SELECT trace_id FROM traces ORDER BY started DESC LIMIT 1")
        if rows:
            return str(rows[0]["trace_id"])
    elif store is not None and re.fullmatch(r"[0-9a-f]{1,32}", ref):
        rows = store.read(
            "SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? ORDER BY trace_id LIMIT 6",
            (ref, ref + "~"),  # '~' sorts after every hex digit: a range scan on the primary key
        )
        if len(rows) > 1:
            shown = ", ".join(r["trace_id"][:12] for r in rows[:5])
            more = ", ..." if len(rows) > 5 else ""
            raise UsageError(f"ambiguous trace id {ref!r}: matches {shown}{more}; give more characters")
        if rows:
            return str(rows[0]["trace_id"])
    if ref in ("latest", "last"):
        raise AgentCliError("no traces recorded yet")
    raise AgentCliError(f"no trace matches {ref!r}")


def load(store: TraceStore, trace_id: str) -> dict[str, Any]:
    """{trace: {...}, spans: [...]}: the shape of `show --json` and `export --format json`."""
    rows = store.read(f"SELECT {_TRACE_COLS} FROM traces WHERE trace_id = ?", (trace_id,))
    if not rows:
        raise AgentCliError(f"no trace matches {trace_id!r}")
    cur = retrying(lambda: store.conn.execute(
        "SELECT span_id, parent_id, kind, name, t_start, t_end, status, error, data FROM spans"
        " WHERE trace_id = ? ORDER BY t_start, rowid",
        (trace_id,),
    ).fetchall())
    # one json.loads over all the data objects: 10,000 spans load in a fraction of the per-row time
    datas = json.loads("[" + ",".join(r[8] or "{}" for r in cur) + "]")
    spans = [
        {
            "span_id": r[0], "parent_id": r[1], "kind": r[2], "name": r[3], "start": r[4], "end": r[5],
            "duration_ms": round((r[5] - r[4]) * 1000, 3), "status": r[6], "error": r[7], "data": data,
        }
        for r, data in zip(cur, datas, strict=True)
    ]
    return {"trace": trace_shape(rows[0]), "spans": spans}


def prune(store: TraceStore, older_than_s: float) -> int:
    """Delete traces that started more than older_than_s ago, with their spans; returns how many."""
    cutoff = time.time() - older_than_s
    store.conn.execute("PRAGMA secure_delete = ON")  # pruned text should not linger in free pages

    def run() -> int:
        with store.transaction() as conn:
            old = "SELECT trace_id FROM traces WHERE started < ?"
            conn.execute(f"DELETE FROM spans WHERE trace_id IN ({old})", (cutoff,))
            return conn.execute("DELETE FROM traces WHERE started < ?", (cutoff,)).rowcount

    count = retrying(run)
    retrying(lambda: store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
    return count
