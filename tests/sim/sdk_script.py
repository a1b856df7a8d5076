"""A third-party client of `agent sim serve`: the official openai SDK, used as its own docs show, nothing of
agentcli imported. Usage: python sdk_script.py BASE_URL. Prints one line per check; exits 1 on the first
failure."""

from __future__ import annotations

import io
import math
import struct
import sys

import openai


def wav(seconds: float, rate: int = 16000) -> bytes:
    frames = b"".join(struct.pack("<h", int(3000 * math.sin(i / 5))) for i in range(int(rate * seconds)))
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames))
    return header + frames


def main(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="sim", max_retries=0)
    models = [m.id for m in client.models.list()]
    assert models, models
    print(f"models: {len(models)}")
    assert client.models.retrieve(models[0]).id == models[0]
    speech = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hello from the SDK.")
    assert speech.response.headers["content-type"] == "audio/mpeg", speech.response.headers
    print(f"speech: {len(speech.content)} bytes of mp3")
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", io.BytesIO(wav(1.0)), "audio/wav"), response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert verbose.text and verbose.segments and verbose.words, verbose
    print(f"verbose_json: {verbose.text!r}, {len(verbose.segments)} segment, {len(verbose.words)} words")
    reply = client.responses.create(model="gpt-4.1-mini", input="ping")
    again = client.responses.retrieve(reply.id)
    assert again.output_text == reply.output_text == "pong", (reply.output_text, again.output_text)
    print("responses: pong, stored")


if __name__ == "__main__":
    main(sys.argv[1])
