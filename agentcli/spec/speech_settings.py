"""The spec's speech settings: `voice:` (the STT -> agent -> TTS pipeline: its stages, turn detection,
turn-taking and interruptions) and `realtime:` (OpenAI's Realtime API or Gemini Live). Part of the spec
format (agentcli/spec/model.py), apart so that each file stays one readable page."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from agentcli.spec.strict import Strict


class StageProvider(Strict):
    """Where one voice stage (STT or TTS) runs, when not where the agent's model does."""

    base_url: str | None = None  # default: the agent's provider's
    api_key_env: str | None = None  # default: the agent's provider's


class Transcription(Strict):
    """How speech is transcribed: the voice pipeline's STT and realtime's input transcription."""

    model: str = "gpt-4o-mini-transcribe"
    language: str | None = None
    prompt: str | None = None


class SttSettings(Transcription):
    provider: StageProvider | None = None  # default: the agent's provider (the voice pipeline only)


class TtsSettings(Strict):
    model: str = "gpt-4o-mini-tts"
    provider: StageProvider | None = None  # default: the agent's provider
    voice: str = "alloy"
    instructions: str | None = None
    speed: float = Field(1.0, ge=0.25, le=4.0)


class VadSettings(Strict):
    aggressiveness: int = Field(2, ge=0, le=3)
    frame_ms: Literal[10, 20, 30] = 10  # small frames: barge-in within 60 ms
    start_ms: int = Field(30, ge=0)  # voiced time before speech starts (and a barge-in cuts playback)
    silence_ms: int = Field(500, ge=50)  # silence that ends a turn
    preroll_ms: int = Field(300, ge=0)  # audio kept from before the start
    min_utterance_ms: int = Field(300, ge=0)  # shorter is a cough, not a turn
    max_utterance_ms: int = Field(30_000, gt=0)
    echo_ratio: float = Field(3.0, ge=1.0)  # while playing, mic energy must exceed playback's by this much


class InterruptionSettings(Strict):
    """Talking over an answer: playback pauses at once, and is cut only after `min_speech_ms` of speech."""

    min_speech_ms: int = Field(400, ge=0)  # shorter (a cough, "huh"): the answer resumes where it paused
    # the voice pipeline only: also this many words in the speech's transcript ("uh-huh", "okay" are not an
    # interruption); 0: off. Speech longer than min_words_cap_ms interrupts whatever its words.
    min_words: int = Field(0, ge=0)
    min_words_cap_ms: int = Field(1500, ge=0)


class TurnSettings(Strict):
    """When a hands-free turn ends. After `prepare_ms` of silence the answer is prepared (transcript, agent,
    speech) but held back; it is committed after `complete_ms` when the turn reads complete (ends in
    . ? !), after vad.silence_ms when it reads neither way, after `max_wait_ms` when it reads unfinished
    (a trailing comma, "and", "um"...). Talking again before it is committed merges the fragments.
    `model: smart-turn` (the `smart-turn` extra) also listens to how the speech ends: below `threshold`
    P(finished) the turn waits `max_wait_ms` even when the transcript ends in a full stop, at or above it a
    transcript without punctuation is complete (voice/turns.py: `end_of_turn`)."""

    prepare_ms: int = Field(200, ge=50)
    complete_ms: int = Field(200, ge=50)  # = prepare_ms: a sentence that reads complete ends the turn there
    max_wait_ms: int = Field(1500, ge=50)
    model: Literal["none", "smart-turn"] = "none"  # the acoustic end-of-turn model (default: transcript only)
    threshold: float = Field(0.5, gt=0, lt=1)  # the model's P(finished) from which the speech sounds finished


class VoiceSettings(Strict):
    stt: SttSettings = Field(default_factory=lambda: SttSettings())
    tts: TtsSettings = Field(default_factory=lambda: TtsSettings())
    vad: VadSettings = Field(default_factory=lambda: VadSettings())
    interruption: InterruptionSettings = Field(default_factory=lambda: InterruptionSettings())
    turn: TurnSettings = Field(default_factory=lambda: TurnSettings())


class TurnDetection(Strict):
    type: Literal["server_vad", "semantic_vad", "none"] = "server_vad"
    threshold: float | None = Field(None, ge=0, le=1)
    prefix_padding_ms: int | None = Field(None, ge=0)
    silence_duration_ms: int | None = Field(None, ge=0)
    idle_timeout_ms: int | None = Field(None, ge=0)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    interrupt_response: bool = True
    create_response: bool = True


class GeminiActivityDetection(Strict):
    """Gemini Live's automatic activity detection (realtimeInputConfig.automaticActivityDetection)."""

    disabled: bool = False  # the client marks turns (activityStart/End): push-to-talk
    start_of_speech_sensitivity: Literal["high", "low"] | None = None
    end_of_speech_sensitivity: Literal["high", "low"] | None = None
    prefix_padding_ms: int | None = Field(None, ge=0)
    silence_duration_ms: int | None = Field(None, ge=0)


class GeminiCompression(Strict):
    """contextWindowCompression: a sliding window that keeps long sessions under the context limit."""

    trigger_tokens: int | None = Field(None, ge=1)
    target_tokens: int | None = Field(None, ge=1)


class GeminiSettings(Strict):
    """`realtime.gemini`: the Gemini Live session (used when `realtime.provider: gemini`)."""

    model: str = "gemini-live-2.5-flash-preview"
    voice: str = "Puck"
    language_code: str | None = None  # e.g. en-US
    input_transcription: bool = True
    output_transcription: bool = True
    activity_detection: GeminiActivityDetection = Field(default_factory=lambda: GeminiActivityDetection())
    context_window_compression: GeminiCompression | None = None
    session_resumption: bool = True  # reconnect (drop, goAway) with the server's resumption handle
    api_version: Literal["v1alpha", "v1beta", "v1"] = "v1beta"


class RealtimeSettings(Strict):
    provider: Literal["openai", "gemini"] = "openai"
    base_url: str | None = None  # the realtime endpoint's base (default: the provider's)
    gemini: GeminiSettings | None = None  # only with provider: gemini (default settings then)
    model: str = "gpt-realtime"
    voice: str = "marin"
    speed: float = Field(1.0, ge=0.25, le=1.5)
    instructions: str | None = None  # default: the agent's instructions
    turn_detection: TurnDetection = Field(default_factory=lambda: TurnDetection())
    transcription: Transcription | None = Field(default_factory=lambda: Transcription())
    noise_reduction: Literal["near_field", "far_field"] | None = None
    output_modalities: list[Literal["audio", "text"]] = Field(default_factory=lambda: ["audio"])
    tool_choice: str | None = None
    # a response's token limit; it counts audio tokens too, so it is not model_settings.max_tokens
    max_output_tokens: int | None = Field(None, ge=1, le=4096)

    @model_validator(mode="after")
    def _provider_block(self) -> RealtimeSettings:
        if self.gemini is not None and self.provider != "gemini":
            raise ValueError("realtime.gemini is only read with `provider: gemini`")
        if self.provider == "gemini" and self.gemini is None:
            self.gemini = GeminiSettings()
        return self

    @property
    def end_silence_ms(self) -> int | None:
        """The silence that ends a turn under server detection (the provider's setting)."""
        if self.provider == "gemini" and self.gemini is not None:
            return self.gemini.activity_detection.silence_duration_ms
        return self.turn_detection.silence_duration_ms

    @property
    def client_turns(self) -> bool:
        """No server turn detection: the client commits (or marks) each turn."""
        if self.provider == "gemini" and self.gemini is not None:
            return self.gemini.activity_detection.disabled
        return self.turn_detection.type == "none"
