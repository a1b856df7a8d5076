"""Text to speech: an abstract `TextToSpeech` and `OpenAISpeech` over /v1/audio/speech.

`OpenAISpeech` asks for raw PCM (24 kHz, 16-bit, mono) and yields it as it arrives, so playback starts
with the first chunk instead of after the whole sentence.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentcli.errors import ModelError

if TYPE_CHECKING:
    from agentcli.spec.model import AgentSpec, Provider, TtsSettings

PCM_RATE = 24000  # what the speech endpoint's "pcm" format is
_CHUNK_BYTES = 2400  # 50 ms: small enough to start playing early


class TextToSpeech(ABC):
    model: str = ""
    voice: str = ""
    rate: int = PCM_RATE

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Text -> 16-bit little-endian mono PCM at `rate`, in chunks of whole samples, as it arrives.
        Failures raise ModelError (one line, never the key)."""


class OpenAISpeech(TextToSpeech):
    """`client` is an openai.AsyncOpenAI (agentcli.models.client.make_client)."""

    def __init__(self, client: Any, settings: TtsSettings, *, url: str = "", provider: Provider | None = None,
                 api_key: str | None = None) -> None:
        url = url or str(getattr(client, "base_url", "")).rstrip("/")
        if settings.provider is not None:  # this stage has a server (or key) of its own
            from agentcli.voice.stt import stage_client

            client, url, provider, api_key = stage_client(settings.provider, provider, url, api_key)
        self.client = client
        self.settings = settings
        self.model = settings.model
        self.voice = settings.voice
        self.url = url
        self.api_key_env = provider.api_key_env if provider else "OPENAI_API_KEY"
        self._api_key = api_key

    def _error(self, err: BaseException, mid_stream: bool) -> ModelError:
        from agentcli.models.client import model_error

        return model_error(err, url=self.url, api_key_env=self.api_key_env, api_key=self._api_key,
                           mid_stream=mid_stream)

    def _params(self, text: str) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "voice": self.voice, "input": text,
                                  "response_format": "pcm"}
        if self.settings.instructions and not self.model.startswith("tts-1"):
            params["instructions"] = self.settings.instructions
        if self.settings.speed != 1.0:
            params["speed"] = self.settings.speed
        return params

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        started = False
        try:
            speech = self.client.audio.speech.with_streaming_response
            async with speech.create(**self._params(text)) as response:
                started = True
                odd = b""  # a chunk may end mid-sample: carry the odd byte over
                async for chunk in response.iter_bytes(_CHUNK_BYTES):
                    data = odd + chunk
                    cut = len(data) - len(data) % 2
                    odd = data[cut:]
                    if cut:
                        yield data[:cut]
        except ModelError:
            raise
        except Exception as e:
            raise self._error(e, mid_stream=started) from None


def make_speech(agent: AgentSpec, base_url: str | None = None, api_key: str | None = None) -> OpenAISpeech:
    """The agent's text-to-speech on `voice.tts.provider`, else on the agent's provider (base_url and
    api_key: the run's overrides, e.g. the simulator's)."""
    from agentcli.models.client import make_client, resolve_base_url

    client = make_client(agent.provider, base_url=base_url, api_key=api_key)
    url = resolve_base_url(agent.provider, base_url)
    return OpenAISpeech(client, agent.voice.tts, url=url, provider=agent.provider, api_key=api_key)
