"""`agent sim serve`: run the embedded OpenAI-compatible simulator as a standalone server."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(help="Run the embedded OpenAI-compatible simulator.", no_args_is_help=True)


@app.callback()
def _sim() -> None:
    # a callback keeps `sim` a command group even though it has one command today
    pass


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(0, "--port", help="Port to listen on (0 picks a free one)."),
    script: Path | None = typer.Option(None, "--script", help="Simulator script (YAML): replies, faults, latency."),
) -> None:
    """Serve the simulator until Ctrl-C; prints its base URL (for OPENAI_BASE_URL) on stdout."""
    import asyncio

    from agentcli.errors import UsageError
    from agentcli.sim.script import load_script

    sim_script = load_script(script) if script else None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0-65535, got {port}")
    try:
        asyncio.run(_serve(host, port, sim_script))
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


async def _serve(host: str, port: int, script: object) -> None:
    import asyncio
    import signal

    from agentcli.sim.server import SimServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with SimServer(script=script, host=host, port=port) as sim:  # type: ignore[arg-type]
        print(sim.base_url, flush=True)
        print(f"export OPENAI_BASE_URL={sim.base_url}", file=sys.stderr, flush=True)
        await stop.wait()
