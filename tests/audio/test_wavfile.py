"""WAV reading of every supported encoding (hand-built and sox-made), writing, and bad files."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio.wavfile import WavWriter, load_wav, read_wav, write_wav
from agentcli.errors import AudioError

_EXT_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def _encode(x: np.ndarray, bits: int, is_float: bool) -> bytes:
    """(frames, channels) float in [-1, 1] -> interleaved sample bytes."""
    flat = x.reshape(-1)
    if is_float:
        return flat.astype("<f4" if bits == 32 else "<f8").tobytes()
    if bits == 8:
        return np.clip(np.rint(flat * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    full = float(1 << (bits - 1))
    ints = np.clip(np.rint(flat * (full - 1)), -full, full - 1).astype(np.int64)
    if bits == 24:
        u = (ints & 0xFFFFFF).astype(np.uint32)
        return np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    return ints.astype("<i2" if bits == 16 else "<i4").tobytes()


def _wav_bytes(x: np.ndarray, rate: int, bits: int, is_float: bool, extensible: bool) -> bytes:
    channels = x.shape[1]
    tag = 3 if is_float else 1
    align = channels * bits // 8
    base = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits)
    if extensible:
        fmt = base + struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + _EXT_GUID_TAIL
    else:
        fmt = base
    data = _encode(x, bits, is_float)
    pad = b"\x00" if len(data) % 2 else b""
    # a LIST chunk before the data, as many tools write: it must be skipped
    listc = b"LIST" + struct.pack("<I", 4) + b"INFO"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + listc
    body += b"data" + struct.pack("<I", len(data)) + data + pad
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _signal(rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    cols = [left] + [0.25 * np.sin(2 * np.pi * 660 * t) for _ in range(channels - 1)]
    return np.stack(cols, axis=1).astype(np.float32)


FORMATS = [(8, False), (16, False), (24, False), (32, False), (32, True), (64, True)]


@pytest.mark.parametrize(("bits", "is_float"), FORMATS)
@pytest.mark.parametrize("extensible", [False, True])
def test_reads_every_encoding_exactly(tmp_path: Path, bits: int, is_float: bool, extensible: bool) -> None:
    x = _signal(22050, 0.1, 2)
    path = tmp_path / "x.wav"
    path.write_bytes(_wav_bytes(x, 22050, bits, is_float, extensible))
    samples, fmt = load_wav(path)
    assert (fmt.rate, fmt.channels, fmt.bits, fmt.is_float) == (22050, 2, bits, is_float)
    assert samples.shape == x.shape and samples.dtype == np.float32
    tolerance = 1.5 / 127 if bits == 8 else 1e-4
    assert np.max(np.abs(samples - x)) < tolerance


def test_read_wav_mixes_down_and_resamples(tmp_path: Path) -> None:
    x = _signal(44100, 0.5, 2)
    path = tmp_path / "s.wav"
    path.write_bytes(_wav_bytes(x, 44100, 16, False, False))
    mono = read_wav(path, 16000)
    assert mono.ndim == 1 and mono.shape[0] == 8000
    expected_rms = np.sqrt(((0.5 / 2) ** 2 + (0.25 / 2) ** 2) / 2)  # the average of two sines
    assert abs(np.sqrt(np.mean(mono[500:-500] ** 2)) - expected_rms) < 0.02


SOX_ENCODINGS = [
    ["-b", "8", "-e", "unsigned-integer"],
    ["-b", "16", "-e", "signed-integer"],
    ["-b", "24", "-e", "signed-integer"],
    ["-b", "32", "-e", "signed-integer"],
    ["-b", "32", "-e", "floating-point"],
    ["-b", "64", "-e", "floating-point"],
]


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (apt-get install sox)")
@pytest.mark.parametrize("encoding", SOX_ENCODINGS, ids=lambda e: f"{e[1]}-{e[3]}")
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (48000, 2), (44100, 3)])
def test_reads_sox_made_files(tmp_path: Path, encoding: list[str], rate: int, channels: int) -> None:
    path = tmp_path / "sox.wav"
    synth = ["synth", "0.25", "sine", "1000"] + (["remix", *["1"] * channels] if channels > 1 else [])
    subprocess.run(
        ["sox", "-n", "-r", str(rate), "-c", str(channels), *encoding, str(path), *synth, "vol", "0.5"],
        check=True,
    )
    samples, fmt = load_wav(path)
    assert (fmt.rate, fmt.channels) == (rate, channels)
    assert samples.shape == (rate // 4, channels)
    peak = float(np.max(np.abs(samples)))
    assert 0.45 < peak < 0.55
    mono = read_wav(path, 16000)
    assert mono.shape[0] == 4000
    assert abs(float(np.sqrt(np.mean(mono[200:-200] ** 2))) - 0.5 / np.sqrt(2)) < 0.03


def test_write_then_read_roundtrip_and_clipping(tmp_path: Path) -> None:
    x = np.array([0.0, 0.25, -0.25, 2.0, -2.0], np.float32)
    path = tmp_path / "w.wav"
    write_wav(path, x, 16000)
    samples, fmt = load_wav(path)
    assert (fmt.rate, fmt.channels, fmt.bits) == (16000, 1, 16)
    assert np.allclose(samples[:, 0], np.clip(x, -1, 1), atol=1e-4)


def test_streaming_writer_fixes_header_on_close(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    w = WavWriter(path, 24000)
    for _ in range(5):
        w.write(np.full(480, 0.5, np.float32))
    w.write(b"\x00\x40" * 20)  # PCM16 bytes too
    # before close the sizes are placeholders, yet the file reads to its end
    assert load_wav(path)[0].shape[0] == 2420
    w.close()
    w.close()
    data = path.read_bytes()
    assert struct.unpack("<I", data[40:44])[0] == 2420 * 2
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert w.duration_ms == pytest.approx(2420 / 24)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "no RIFF/WAVE header"),
        (b"hello, I am a text file, not audio at all", "no RIFF/WAVE header"),
        (bytes(range(256)) * 4, "no RIFF/WAVE header"),
        (b"RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00", "no fmt chunk"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x01\x00" * 4, "truncated fmt chunk"),
    ],
)
def test_garbage_is_one_line_error_naming_the_file(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        read_wav(path, 16000)
    msg = str(err.value)
    assert str(path) in msg and why in msg and "\n" not in msg


def test_truncated_data_and_unsupported_encodings(tmp_path: Path) -> None:
    good = _wav_bytes(_signal(16000, 0.1, 1), 16000, 16, False, False)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(AudioError, match="truncated"):
        load_wav(cut)
    mulaw = bytearray(good)
    mulaw[20:22] = struct.pack("<H", 7)  # WAVE_FORMAT_MULAW
    mulaw[34:36] = struct.pack("<H", 8)
    (tmp_path / "mulaw.wav").write_bytes(bytes(mulaw))
    with pytest.raises(AudioError, match="unsupported encoding"):
        load_wav(tmp_path / "mulaw.wav")
    with pytest.raises(AudioError, match="cannot read"):
        load_wav(tmp_path / "missing.wav")
