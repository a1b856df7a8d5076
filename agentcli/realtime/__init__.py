"""Realtime: full-duplex speech over the OpenAI Realtime API (GA protocol), `agent voice --realtime`.

Public entry point: `run_realtime(spec, opts, renderer) -> exit code` (agentcli/realtime/run.py),
imported lazily so that `agent --help` does not load websockets, numpy or openai.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcli.spec.model import Spec
    from agentcli.voice.options import VoiceOptions

__all__ = ["run_realtime"]


async def run_realtime(spec: Spec, opts: VoiceOptions, renderer: Any, **kwargs: Any) -> int:
    from agentcli.realtime.run import run_realtime as run

    return await run(spec, opts, renderer, **kwargs)
