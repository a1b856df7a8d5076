"""voice.stt.provider / voice.tts.provider: each stage on its own OpenAI-compatible server (here a second
simulator), defaulting to the agent's endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from agentcli.spec.model import AgentSpec, Provider, StageProvider
from agentcli.voice.stt import make_transcriber, stage_provider
from agentcli.voice.tts import make_speech

SECOND = parse_script({"hear": ["heard on the speech server"]})


async def both_stages(agent: AgentSpec, base_url: str, api_key: str) -> tuple[str, int]:
    stt = make_transcriber(agent, base_url, api_key)
    tts = make_speech(agent, base_url, api_key)
    audio = (0.1 * np.sin(np.arange(16000) / 8)).astype(np.float32)
    parts = [p async for p in stt.transcribe(audio, 16000)]
    pcm = b"".join([chunk async for chunk in tts.synthesize("hello there")])
    return parts[-1].text, len(pcm)


def test_each_stage_runs_on_its_own_server() -> None:
    async def main() -> tuple[Any, ...]:
        async with SimServer() as agent_sim, SimServer(SECOND) as speech_sim:
            agent = AgentSpec.model_validate({"name": "a", "voice": {
                "stt": {"provider": {"base_url": speech_sim.base_url, "api_key_env": "SPEECH_KEY"}},
                "tts": {"provider": {"base_url": speech_sim.base_url}},
            }})
            text, pcm_bytes = await both_stages(agent, agent_sim.base_url, "sim")
            return text, pcm_bytes, agent_sim.connections_accepted, speech_sim.connections_accepted

    text, pcm_bytes, on_agent, on_speech = asyncio.run(main())
    assert text == "heard on the speech server"
    assert pcm_bytes > 0
    assert (on_agent, on_speech > 0) == (0, True)


def test_without_a_stage_provider_both_use_the_agents_endpoint() -> None:
    async def main() -> tuple[Any, ...]:
        async with SimServer(SECOND) as agent_sim:
            agent = AgentSpec.model_validate({"name": "a"})
            text, pcm_bytes = await both_stages(agent, agent_sim.base_url, "sim")
            return text, pcm_bytes, agent_sim.connections_accepted

    text, pcm_bytes, on_agent = asyncio.run(main())
    assert text == "heard on the speech server" and pcm_bytes > 0 and on_agent > 0


def test_stage_provider_precedence() -> None:
    agent = Provider(base_url="http://agent/v1", api_key_env="AGENT_KEY")
    assert stage_provider(agent, None, "http://sim/v1", "sim") == (agent, "http://sim/v1", "sim")
    own, url, key = stage_provider(agent, StageProvider(base_url="http://speech/v1"), "http://sim/v1", "sim")
    assert (own.base_url, own.api_key_env, url, key) == ("http://speech/v1", "AGENT_KEY", None, None)
    own, url, key = stage_provider(agent, StageProvider(api_key_env="SPEECH_KEY"), None, None)
    assert (own.base_url, own.api_key_env, url, key) == ("http://agent/v1", "SPEECH_KEY", None, None)
