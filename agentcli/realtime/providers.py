"""Which realtime model a session talks to: `realtime.provider` (openai, the default, or gemini), its
endpoint and key. OpenAI's connection is built by the session itself; Gemini's is a Connect made here."""

from __future__ import annotations

import os
from typing import Any

from agentcli.errors import ModelError, UsageError
from agentcli.realtime.connection import EventLog
from agentcli.realtime.model import Connect
from agentcli.spec.model import AgentSpec

GEMINI_KEY_ENV = "GEMINI_API_KEY"


def gemini_key_env(agent: AgentSpec) -> str:
    """provider.api_key_env when the spec sets it, else GEMINI_API_KEY (the default names OpenAI's)."""
    return agent.provider.api_key_env if "api_key_env" in agent.provider.model_fields_set else GEMINI_KEY_ENV


def gemini_connect(
    agent: AgentSpec, endpoint: Any, model: str, history: Any, log: EventLog | None
) -> tuple[Connect, str]:
    """A Connect for Gemini Live (each call one new connection, sharing the resumption handle) and the
    URL it dials. `endpoint` is the run's (the simulator's base and key with --sim)."""
    from agentcli.realtime.connection import VALIDATE_ENV
    from agentcli.realtime.gemini_model import GeminiRealtime, Resumption
    from agentcli.realtime.gemini_wire import gemini_url, validate_client_message

    gemini = agent.realtime.gemini
    assert gemini is not None  # the spec model fills it for provider: gemini
    base = endpoint.base_url or agent.realtime.base_url or agent.provider.base_url
    url = gemini_url(base, gemini.api_version)
    env = gemini_key_env(agent)
    key = endpoint.api_key or os.environ.get(env)
    if not key:
        raise ModelError(f"{env} is not set: export {env}=... (or use --sim)")
    validate = None
    if os.environ.get(VALIDATE_ENV, "0") not in ("", "0"):
        try:  # the check needs google-genai's types, a test dependency
            import google.genai.types  # noqa: F401
        except ImportError:
            needs = "with Gemini Live needs google-genai: pip install google-genai"
            raise UsageError(f"{VALIDATE_ENV}=1 {needs}") from None
        validate = validate_client_message
    resumption = Resumption()

    async def connect() -> GeminiRealtime:
        return await GeminiRealtime.open(
            url, key, gemini, model, history=history, resumption=resumption, log=log, validate=validate,
            api_key_env=env,
        )  # fmt: skip

    return connect, url
