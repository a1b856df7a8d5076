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
    from agentcli.spec.model import Provider, SttSettings

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
        self.client = client
        self.settings = settings
        self.model = settings.model
        self.url = url or str(getattr(client, "base_url", "")).rstrip("/")
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
