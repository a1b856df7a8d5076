"""Realtime: full-duplex speech over the OpenAI Realtime API (GA protocol) or Gemini Live, `agent voice --realtime`.

Public entry point: `run_realtime(spec, opts, renderer) -> exit code` (agentcli/realtime/run.py),
imported lazily so that `agent --help` does not load websockets, numpy or openai.

Layout, from the wire up:
- model.py: RealtimeModel, the provider-neutral seam (connect, audio in, item operations, typed events
  out); openai_model.py implements it over connection.py (one websocket, its log and validation) and
  parses server JSON into server_events.py's records. protocol.py checks the wire against openai's types.
- gemini_model.py: the same seam over Gemini Live (`realtime.provider: gemini`); gemini_events.py reads
  its server messages into typed events; its wire in gemini_wire.py (setup, history as Content, the
  socket, checks against google-genai's types);
  providers.py picks the endpoint and key.
- session.py: RealtimeSession, the link (reconnect, history replay) and the one `match` over server events;
  hearing.py (the user's side), answers.py (responses, tools, barge-in, guardrails), turns.py, with their
  state in state.py's named parts; interrupting.py (speech over an answer: pause, then interrupt or
  resume); hearing.py also drops a user turn that is the assistant's own voice.
- config.py (the session object), items.py (history as realtime items), reconnect.py (connecting with
  backoff, the history replay), tools.py, guard.py (output guardrails), audio_io.py (mic pump, playback),
  inputs.py (stdin, input files), recording.py (--record).
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
