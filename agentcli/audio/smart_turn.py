"""Smart Turn v3 (pipecat-ai's BSD-2 end-of-turn model) as a scorer: does this speech sound finished?

`SmartTurn().finished(audio, rate)` is the model's P(the speaker has finished their turn) for the user's
speech up to a pause: the last 8 s at 16 kHz (zero-padded in front when shorter), as Whisper's log-mel
features, through a small Whisper-encoder classifier with onnxruntime. It hears the speech (pitch,
rhythm, the last syllable drawn out), not a transcript: JFK's "And so, my fellow Americans," before his
pause scores 0.2, the whole sentence 0.92, complete espeak-ng questions 0.8-0.99.

The weights are not downloaded: they are the ONNX file that ships inside the pipecat-ai wheel (the
`smart-turn` extra). pipecat itself is never imported (its import pulls in its logger and prints a
banner): the file is found through the package's location alone. onnxruntime (~60 ms to import) and the
session (~25 ms) are loaded once, when hands-free listening starts; one inference takes ~30 ms.

The features are Whisper's (transformers' WhisperFeatureExtractor with chunk_length=8, as pipecat
computes them, reimplemented here with numpy): the waveform normalised to zero mean and unit variance,
a 400-point periodic-Hann STFT every 160 samples (reflect-padded, centred), power, 80 Slaney mel bands
(0-8 kHz), log10, floored at max - 8, then (x + 4) / 4; 800 frames.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16000
WINDOW_S = 8  # the model hears the last 8 s
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = WINDOW_S * RATE // HOP  # 800
_MODEL_DIR = ("audio", "turn", "smart_turn", "data")  # inside pipecat/: smart-turn-v3.2-cpu.onnx in 1.x
EXTRA_HINT = "pip install 'agentcli[smart-turn]'"
_FRAME = RATE // 100  # 10 ms
END_DB = 20.0  # the speech ends at the last frame this close to the loudest
TAIL_MS = 50  # of what follows it, kept


# -- where the weights are ----------------------------------------------------------------------------
def model_path() -> Path | None:
    """The Smart Turn v3 ONNX file inside the installed pipecat-ai package, or None. Finding a package's
    folder does not run its code."""
    try:
        spec = importlib.util.find_spec("pipecat")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        found = sorted(Path(folder).joinpath(*_MODEL_DIR).glob("smart-turn-v3*.onnx"),
                       key=lambda p: ("cpu" in p.name, p.name))  # the newest int8 (CPU) model
        if found:
            return found[-1]
    return None


def smart_turn_available() -> str | None:
    """None when the model can run here, else why not (one line)."""
    if model_path() is None:
        return f"the Smart Turn weights (the pipecat-ai package) are not installed: {EXTRA_HINT}"
    try:
        import onnxruntime  # noqa: F401
    except Exception as e:  # ImportError, or its shared library failing to load
        return f"onnxruntime cannot be imported ({type(e).__name__}: {e}): {EXTRA_HINT}"
    return None


# -- Whisper's log-mel features -----------------------------------------------------------------------
def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) * 27.0 / np.log(6.4))


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * np.log(6.4) / 27.0))


def _mel_filters() -> np.ndarray:
    """(N_FFT // 2 + 1, N_MELS) triangular filters with Slaney's area normalisation."""
    hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    bins = np.linspace(0, RATE // 2, N_FFT // 2 + 1)
    slopes = hz[None, :] - bins[:, None]
    diff = np.diff(hz)
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up)) * (2.0 / (hz[2:] - hz[:-2]))[None, :]


_FILTERS = _mel_filters()
_HANN = np.hanning(N_FFT + 1)[:-1]  # periodic, as torch.hann_window


def trim_tail(audio: np.ndarray) -> np.ndarray:
    """The speech up to its end plus TAIL_MS: what follows the last 10 ms frame within END_DB of the
    loudest is cut. The model's verdict swings with how much silence follows the last word (JFK's "And
    so, my fellow Americans": 0.01 cut at the word, 0.2 cut 50 ms after it, 0.96 with the 200 ms the turn
    detector keeps), so its input ends the same way whatever the VAD's hangover, the room's reverberation
    or voice.turn.prepare_ms (bench/smart_turn_bench.py --tails; README, "Smart Turn")."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = x.shape[0] // _FRAME
    if n == 0:
        return x
    level = 10.0 * np.log10(np.mean(x[: n * _FRAME].reshape(n, _FRAME) ** 2, axis=1) + 1e-12)
    end = (int(np.nonzero(level >= level.max() - END_DB)[0][-1]) + 1) * _FRAME
    return x[: end + TAIL_MS * RATE // 1000]


def window(audio: np.ndarray) -> np.ndarray:
    """The model's input: the last WINDOW_S seconds (16 kHz float32), zeros in front when shorter."""
    n = WINDOW_S * RATE
    x = np.asarray(audio, dtype=np.float32).reshape(-1)[-n:]
    return np.pad(x, (n - x.shape[0], 0)) if x.shape[0] < n else x


def log_mel(x: np.ndarray) -> np.ndarray:
    """(N_MELS, FRAMES) float32 features of exactly WINDOW_S seconds of 16 kHz audio."""
    x = np.asarray(x, dtype=np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)  # in float32, before the STFT, as transformers does
    padded = np.pad(x.astype(np.float64), (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=-1)) ** 2  # (frames + 1, bins)
    mel = np.log10(np.maximum(power @ _FILTERS, 1e-10)).T[:, :-1]  # the last frame is dropped
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


# -- the model ----------------------------------------------------------------------------------------
class SmartTurn:
    """One onnxruntime session. `finished()` is thread-safe (a lock: one inference at a time, on one
    core, so it never takes both cores from the speech pipeline)."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        path = path or model_path()
        if path is None:
            raise RuntimeError(smart_turn_available() or "Smart Turn is not installed")
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(str(path), sess_options=options,
                                                  providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """One inference on silence: the first one costs several times the next ones."""
        self.finished(np.zeros(RATE, np.float32))

    def finished(self, audio: np.ndarray, rate: int = RATE) -> float:
        """P(finished) in [0, 1] for mono float32 speech ending at the pause (trailing silence is trimmed)."""
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        if rate != RATE:
            import soxr

            x = soxr.resample(x[-WINDOW_S * rate:], rate, RATE, quality="HQ").astype(np.float32)
        features = log_mel(window(trim_tail(x)))[None]
        with self._lock:
            out = self._session.run(None, {self._input: features})
        return float(np.asarray(out[0]).reshape(-1)[0])  # the graph ends in a sigmoid
