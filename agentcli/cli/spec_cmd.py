"""`agent spec ...`: validate, describe and create agent specs.

pydantic and yaml load only inside the commands, so `agent --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

app = typer.Typer(help="Validate, describe and create agent specs.", no_args_is_help=True)


def _check(file: str, do_import: bool) -> tuple[list[str], list[str], list[str]]:
    """(agent names, problems, warnings) for one file; "-" reads stdin."""
    from agentcli.errors import SpecError
    from agentcli.spec.loader import load_spec
    from agentcli.spec.resolve import reference_problems, setting_warnings
    from agentcli.terminal_text import show_controls

    try:
        spec = load_spec("<stdin>", text=sys.stdin.read()) if file == "-" else load_spec(file)
    except SpecError as e:
        return [], list(e.problems), []
    problems = [show_controls(p) for p in reference_problems(spec, do_import=do_import)]
    return list(spec.agents), problems, [show_controls(w) for w in setting_warnings(spec)]


@app.command()
def validate(
    files: list[str] = typer.Argument(..., metavar="FILE", help="Spec files to check ('-' reads stdin)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print a JSON list of {file, ok, agents, problems, warnings}."),
    do_import: bool = typer.Option(
        False, "--import", help="Import python tools and guardrails (runs their modules) to check them fully."
    ),
) -> None:
    """Check spec files; every problem is printed as path:line:col: field: message. Exit 2 if any is bad.
    A setting this machine cannot honour (e.g. voice.turn.model: smart-turn without its extra) is a
    warning on stderr: the spec is still valid.

    Python references are checked without running them: the module must be found next to the spec or
    on sys.path, and a function missing from the module's source is reported. read_file roots and
    shell cwd must be folders."""
    results = []
    for file in files:
        agents, problems, warnings = _check(file, do_import)
        results.append({"file": file, "ok": not problems, "agents": agents, "problems": problems,
                        "warnings": warnings})
        if as_json:
            continue
        for line in warnings:
            typer.echo(f"warning: {line}", err=True)
        if problems:
            for line in problems:
                typer.echo(line, err=True)
        else:
            typer.echo(f"ok  {file} (agents: {', '.join(agents)})")
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    if not all(r["ok"] for r in results):
        raise typer.Exit(2)


@app.command()
def schema() -> None:
    """Print the JSON Schema of spec files (for editor completion, e.g. yaml-language-server)."""
    from agentcli.spec.schema import spec_json_schema

    typer.echo(json.dumps(spec_json_schema(), indent=2))


@app.command()
def new(
    name: str = typer.Argument(..., metavar="NAME", help="The agent's name."),
    output: str | None = typer.Option(None, "-o", "--output", metavar="FILE", help="Write here, not stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE if it exists."),
) -> None:
    """Print (or write) a commented starter spec that validates as it is."""
    from agentcli.errors import UsageError
    from agentcli.spec.defaults import starter_spec

    try:
        text = starter_spec(name, file=os.path.basename(output) if output else None)
    except UsageError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if output is None:
        typer.echo(text, nl=False)
        return
    path = Path(output)
    if path.is_dir():
        typer.echo(f"error: {output} is a directory", err=True)
        raise typer.Exit(2)
    if path.exists() and not force:
        typer.echo(f"error: {output} exists; use --force to overwrite it", err=True)
        raise typer.Exit(2)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        typer.echo(f"error: cannot write {output}: {e.strerror or e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {output}", err=True)
