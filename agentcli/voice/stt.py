"""Speech to text: an abstract `SpeechToText` and `OpenAITranscriber` over /v1/audio/transcriptions.

The transcriber streams the transcript (`stream=True`) for the models that support it, so the user's
words show while the rest is still being recognised; whisper-1 gives the whole text at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agentcli.errors import ModelError

if TYPE_CHECKING:
    from agentcli.spec.model import AgentSpec, Provider, StageProvider, SttSettings

_NO_STREAM_PREFIXES = ("whisper",)  # models that reject stream=True


@dataclass(slots=True)
class TranscriptPart:
    """A piece of the transcript: a delta while recognising, then one with `final=True` and the whole text."""

    text: str
    final: bool = False


class SpeechToText(ABC):
    model: str = ""

    @abstractmethod
    def transcribe(self, audio: np.ndarray, rate: int) -> AsyncIterator[TranscriptPart]:
        """Mono float32 audio at `rate` Hz -> transcript deltas, ending with exactly one final part.
        Failures raise ModelError (one line, never the key)."""


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """Mono float32 audio as a 16-bit WAV file in memory (what the endpoint uploads)."""
    from agentcli.audio.wavfile import wav_bytes as encode

    return encode(audio, rate)


class OpenAITranscriber(SpeechToText):
    """`client` is an openai.AsyncOpenAI (agentcli.models.client.make_client)."""

    def __init__(self, client: Any, settings: SttSettings, *, url: str = "", provider: Provider | None = None,
                 api_key: str | None = None, stream: bool | None = None) -> None:
        url = url or str(getattr(client, "base_url", "")).rstrip("/")
        if settings.provider is not None:  # this stage has a server (or key) of its own
            client, url, provider, api_key = stage_client(settings.provider, provider, url, api_key)
        self.client = client
        self.settings = settings
        self.model = settings.model
        self.url = url
        self.api_key_env = provider.api_key_env if provider else "OPENAI_API_KEY"
        self._api_key = api_key  # only to scrub it from error text
        self.stream = stream if stream is not None else not self.model.startswith(_NO_STREAM_PREFIXES)

    def _error(self, err: BaseException, mid_stream: bool) -> ModelError:
        from agentcli.models.client import model_error

        return model_error(err, url=self.url, api_key_env=self.api_key_env, api_key=self._api_key,
                           mid_stream=mid_stream)

    def _params(self, audio: np.ndarray, rate: int) -> dict[str, Any]:
        upload = ("speech.wav", wav_bytes(audio, rate), "audio/wav")
        params: dict[str, Any] = {"file": upload, "model": self.model}
        if self.settings.language:
            params["language"] = self.settings.language
        if self.settings.prompt:
            params["prompt"] = self.settings.prompt
        return params

    async def transcribe(self, audio: np.ndarray, rate: int) -> AsyncIterator[TranscriptPart]:
        params = self._params(audio, rate)
        if not self.stream:
            try:
                result = await self.client.audio.transcriptions.create(**params, response_format="json")
            except Exception as e:
                raise self._error(e, mid_stream=False) from None
            yield TranscriptPart(str(getattr(result, "text", result)).strip(), final=True)
            return
        try:
            wire = await self.client.audio.transcriptions.create(**params, stream=True)
        except Exception as e:
            raise self._error(e, mid_stream=False) from None
        text, done = "", False
        try:
            async for event in wire:
                kind = getattr(event, "type", "")
                if kind == "transcript.text.delta":
                    text += event.delta
                    yield TranscriptPart(event.delta)
                elif kind == "transcript.text.done":
                    text, done = event.text, True
                    break
        except Exception as e:
            raise self._error(e, mid_stream=True) from None
        finally:
            close = getattr(wire, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # noqa: BLE001 - closing a finished stream must not mask the result
                    pass
        if not done and not text:
            raise ModelError(f"the connection to {self.url} dropped mid-transcription")
        yield TranscriptPart(text.strip(), final=True)


def stage_provider(agent: Provider, stage: StageProvider | None, base_url: str | None,
                   api_key: str | None) -> tuple[Provider, str | None, str | None]:
    """(provider, base_url override, api_key override) for one voice stage. Without `provider:` the stage
    runs where the agent does (the run's override, e.g. --sim, included). With one, its base_url and
    api_key_env replace the agent's; the run's override then applies only if it names no base_url."""
    if stage is None:
        return agent, base_url, api_key
    changes = {k: v for k, v in (("base_url", stage.base_url), ("api_key_env", stage.api_key_env)) if v}
    provider = agent.model_copy(update=changes)
    if stage.base_url:
        return provider, None, None  # another server: its key comes from its own env var
    return provider, base_url, api_key if not stage.api_key_env else None


def stage_client(stage: StageProvider, agent: Provider | None, url: str,
                 api_key: str | None) -> tuple[Any, str, Provider, str | None]:
    """(client, url, provider, api_key) for a stage with `provider:`, given where the agent's client
    points (`url`, after any run override such as --sim) and the run's key override."""
    from agentcli.models.client import make_client, resolve_base_url
    from agentcli.spec.model import Provider

    provider, url_override, key = stage_provider(agent or Provider(), stage, url, api_key)
    client = make_client(provider, base_url=url_override, api_key=key)
    return client, resolve_base_url(provider, url_override), provider, key


def make_transcriber(agent: AgentSpec, base_url: str | None = None, api_key: str | None = None) -> OpenAITranscriber:
    """The agent's speech-to-text on `voice.stt.provider`, else on the agent's provider (base_url and
    api_key: the run's overrides, e.g. the simulator's)."""
    from agentcli.models.client import make_client, resolve_base_url

    client = make_client(agent.provider, base_url=base_url, api_key=api_key)
    url = resolve_base_url(agent.provider, base_url)
    return OpenAITranscriber(client, agent.voice.stt, url=url, provider=agent.provider, api_key=api_key)
