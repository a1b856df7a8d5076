"""Local tracing of runs: a SQLite store of spans built from the event stream (see README.md here).

Importing this package is cheap: the recorder module (sqlite3, no third-party code) loads on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcli.tracing.writer import TraceRecorder

__all__ = ["TraceRecorder", "open_recorder", "tracing_enabled"]

_OFF = {"0", "false", "no", "off"}
DB_NAME = "traces.db"  # in agent_home()


def tracing_enabled() -> bool:
    """False when AGENT_TRACE turns tracing off for this process."""
    return os.environ.get("AGENT_TRACE", "1").strip().lower() not in _OFF


def open_recorder(
    *,
    kind: str,
    workflow: str,
    group_id: str | None = None,
    content: bool = True,
    metadata: dict[str, Any] | None = None,
) -> TraceRecorder | None:
    """A recorder for one run, or None when AGENT_TRACE=0. Opens nothing yet: the store is opened by the
    first event. AGENT_TRACE_CONTENT=0 forces content off whatever `content` says."""
    if not tracing_enabled():
        return None
    from agentcli.redact import Redactor
    from agentcli.tracing.writer import TraceRecorder

    if os.environ.get("AGENT_TRACE_CONTENT", "1").strip().lower() in _OFF:
        content = False
    return TraceRecorder(
        path=None, kind=kind, workflow=workflow, group_id=group_id, content=content,
        metadata=metadata, redactor=Redactor(),
    )


def __getattr__(name: str) -> Any:
    if name == "TraceRecorder":
        from agentcli.tracing.writer import TraceRecorder

        return TraceRecorder
    raise AttributeError(name)
