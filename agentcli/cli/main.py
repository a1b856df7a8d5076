"""The `agent` command. Sub-commands live in their own modules and import heavy things lazily:
`agent --help` must not import openai, numpy or sounddevice. A run of one command (`agent chat ...`)
builds only that command: typer builds every registered command's options before it parses, and each
command module costs its import."""

from __future__ import annotations

import sys
from typing import Any

import typer

from agentcli import __version__

COMMANDS = ("chat", "voice", "devices", "spec", "sim", "trace", "sessions", "events", "mcp")


def _version(value: bool) -> None:
    if value:
        print(f"agent {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """agentcli: one YAML file describes an agent; `agent` chats, talks and traces with it."""


def devices(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List audio input and output devices (ids, default marks, sample rates)."""
    from agentcli.cli.devices_cmd import devices as list_devices

    list_devices(json_out)


def build_app(only: str | None = None) -> typer.Typer:
    """The `agent` app with every command, or with `only` that one (the same command, options and help)."""
    app = typer.Typer(
        name="agent",
        help="Run YAML-defined agents from the terminal: text chat, voice and realtime, traced locally.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for name in COMMANDS if only is None else (only,):
        if name == "chat":
            from agentcli.cli import chat_cmd

            app.command("chat", help=chat_cmd.HELP, no_args_is_help=False)(chat_cmd.chat)
        elif name == "voice":
            from agentcli.cli import voice_cmd

            app.command("voice", help=voice_cmd.HELP)(voice_cmd.voice)
        elif name == "devices":
            app.command("devices")(devices)
        else:  # a command group of its own module
            import importlib

            app.add_typer(importlib.import_module(f"agentcli.cli.{name}_cmd").app, name=name)
    return app


def __getattr__(name: str) -> Any:
    """`app`: the whole command, built on first use (tests and tools import it)."""
    if name == "app":
        app = globals()["app"] = build_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Options whose value may be left out, per command, and what it then is. Click can do this, but typer's
# options cannot, so the value is filled in before parsing: `voice --record` means `--record recordings`.
OPTIONAL_VALUES = {"voice": {"--record": "recordings"}}


def fill_optional_values(argv: list[str]) -> list[str]:
    """argv with the default value after each optional-value option of its command given without one
    (last, or followed by another option). Everything after `--` is left alone."""
    command = next((a for a in argv if not a.startswith("-")), None)
    optional = OPTIONAL_VALUES.get(command or "", {})
    if not optional:
        return argv
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        out.append(arg)
        if arg in optional:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if following is None or (following.startswith("-") and following != "-"):
                out.append(optional[arg])
    return out


def main() -> None:
    from agentcli.errors import AgentCliError

    argv = fill_optional_values(sys.argv[1:])
    only = argv[0] if argv and argv[0] in COMMANDS else None  # anything else (--help, a typo): every command
    try:
        build_app(only)(args=argv)
    except AgentCliError as e:
        from agentcli.terminal_text import show_controls  # a server's or a tool's words may be in the message

        print(f"agent: error: {show_controls(str(e))}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("agent: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (e.g. `agent chat ... | head -1`): not an error of ours
        sys.stderr.close()
        sys.exit(0)
