"""`agent trace`: look at recorded runs (list, show, export, prune). Heavy imports (rich, sqlite3) load
inside the commands: `agent --help` pays nothing for them."""

from __future__ import annotations

import json
import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from agentcli.errors import AgentCliError

app = typer.Typer(help="Look at recorded runs.", no_args_is_help=True)


class ExportFormat(StrEnum):
    json = "json"
    otlp = "otlp"


def _fail(e: AgentCliError) -> typer.Exit:
    print(f"agent: error: {e}", file=sys.stderr)
    return typer.Exit(e.exit_code)


def _color() -> bool:
    from agentcli.cli.term import color_allowed

    return color_allowed(sys.stdout)


def _width() -> int:
    return shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 100


def _ascii_only() -> bool:
    return not (sys.stdout.encoding or "").lower().replace("-", "").startswith("utf")


def _json_text(value: Any, *, pretty: bool) -> str:
    # indented only for people: json's C encoder is skipped when indenting (5x slower on big traces)
    return json.dumps(value, indent=2 if pretty else None, ensure_ascii=False) + "\n"


def _print_json(value: Any) -> None:
    sys.stdout.write(_json_text(value, pretty=sys.stdout.isatty()))


def _store() -> Any:
    from agentcli.tracing.store import TraceStore

    return TraceStore.open_existing()


def _load(trace_id: str) -> Any:
    """The trace `trace_id` names (an id, a unique prefix, or latest), or a one-line error and exit code."""
    from agentcli.tracing import query

    try:
        store = _store()
        return query.load(store, query.resolve(store, trace_id))
    except AgentCliError as e:
        raise _fail(e) from None


@app.command("list")
def list_cmd(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many traces, newest first."),
    agent: str | None = typer.Option(None, "--agent", help="Only runs of this agent (the workflow name)."),
    since: str | None = typer.Option(None, "--since", help="Only runs started within: 30m, 1h, 2d, 1w."),
    errors: bool = typer.Option(False, "--errors", help="Only runs that failed or have a failed span."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (see tracing/README.md)."),
) -> None:
    """List recorded runs, newest first."""
    from agentcli.tracing import query, render

    try:
        since_s = query.parse_age(since, "--since") if since is not None else None
        store = _store()
        traces = []
        if store is not None:
            traces = query.list_traces(store, limit=limit, agent=agent, since=since_s, errors=errors)
    except AgentCliError as e:
        raise _fail(e) from None
    if json_out:
        _print_json(traces)
        return
    if not traces:
        print("no traces recorded yet" if store is None else "no traces match")
        return
    rows = render.list_rows(traces)
    if not _color():
        print(render.plain_table(render.LIST_COLUMNS, rows, right={4, 5, 6}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, column in enumerate(render.LIST_COLUMNS):
        table.add_column(column.upper(), justify="right" if i in (4, 5, 6) else "left",
                         style="bold" if column == "id" else None)
    for row in rows:
        status_style = render.STATUS_STYLE.get(row[-1], "")
        table.add_row(*row[:-1], f"[{status_style}]{row[-1]}[/]" if status_style else row[-1])
    Console().print(table)


@app.command("show")
def show_cmd(
    trace_id: str = typer.Argument("latest", metavar="[ID|latest]", help="A trace id or a unique prefix."),
    json_out: bool = typer.Option(False, "--json", help="{trace, spans} as JSON (see tracing/README.md)."),
) -> None:
    """Show one run: its span tree and a waterfall timeline."""
    from agentcli.tracing import render

    doc = _load(trace_id)
    if json_out:
        _print_json(doc)
        return
    lines = render.trace_lines(doc, _width(), ascii_only=_ascii_only())
    if not _color():
        sys.stdout.write(render.plain(lines) + "\n")
        return
    from rich.console import COLOR_SYSTEMS, Console
    from rich.style import Style

    # Rich styles rendered straight to ANSI, line by line: laying out 10,000 lines as one Rich Text
    # takes seconds, this takes milliseconds, and the lines already fit the terminal
    system_name = Console().color_system
    system = COLOR_SYSTEMS[system_name] if system_name else None
    render_style = {name: Style.parse(name).render for name in {st for line in lines for _, st in line if st}}
    sys.stdout.write("\n".join(
        "".join(render_style[st](seg, color_system=system) if st else seg for seg, st in line) for line in lines
    ) + "\n")


@app.command("export")
def export_cmd(
    trace_id: str = typer.Argument(..., metavar="ID", help="A trace id, a unique prefix of one, or latest."),
    fmt: ExportFormat = typer.Option(ExportFormat.json, "--format", "-f", help="json or otlp (OTLP/JSON)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Export one run as JSON or OTLP/JSON."""
    doc = _load(trace_id)
    if fmt is ExportFormat.otlp:
        from agentcli.tracing.otlp import to_otlp_json

        doc = to_otlp_json(doc["trace"], doc["spans"])
    if output is None:
        _print_json(doc)
        return
    try:  # traces can hold conversation text: the file is private like the store
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        raise _fail(AgentCliError(f"cannot write {output}: {e.strerror}")) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(_json_text(doc, pretty=False))
    print(f"wrote {output}", file=sys.stderr)


@app.command("prune")
def prune_cmd(
    older_than: str = typer.Option(..., "--older-than", help="Delete runs older than this: 30d, 12h, 1w."),
) -> None:
    """Delete old runs and their spans."""
    from agentcli.tracing import query

    try:
        age = query.parse_age(older_than, "--older-than")
        store = _store()
        count = query.prune(store, age) if store is not None else 0
    except AgentCliError as e:
        raise _fail(e) from None
    print(f"pruned {count} trace{'' if count == 1 else 's'}")
