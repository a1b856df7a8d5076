"""Smart Turn v3 (voice.turn.model: smart-turn): what it costs and how well it hears the end of a turn.

    python bench/smart_turn_bench.py            # costs, then the labelled set
    python bench/smart_turn_bench.py --tails    # also: the verdicts for other tails after the speech

Costs: `import onnxruntime` in a fresh interpreter, loading the session, the features and one inference
on 8 s of audio (one thread, as the session runs it), medians. The labelled set: JFK's phrases as the
hands-free turn detector cuts them (the turn so far at each pause: unfinished until the last), and
espeak-ng phrases, complete questions and cut-short ones, each as one fragment in low noise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentcli.audio import smart_turn as st  # noqa: E402
from agentcli.audio.wavfile import read_wav  # noqa: E402
from agentcli.spec.model import TurnSettings  # noqa: E402
from agentcli.voice.turns import end_of_turn, reads  # noqa: E402
from tests.audio.test_smart_turn import fragments  # noqa: E402 - the fragments turn taking cuts

RATE = 16000
JFK = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "jfk_16k.wav"
COMPLETE = ["What is the weather like in Paris today?", "Can you tell me a joke about cats?",
            "How far is the moon from the earth?", "What time is it in Tokyo right now?",
            "Please turn off the lights in the kitchen.", "Do you know a good recipe for pancakes?",
            "Who wrote the novel Pride and Prejudice?", "Could you set a timer for ten minutes?",
            "What is the capital of Australia?", "How do I say thank you in Japanese?",
            "Is it going to rain tomorrow?", "Tell me about the history of Rome."]
# cut short: spoken as espeak-ng ends any text (a falling tone), then with a comma's rising tone
UNFINISHED = ["I would like to book a table for two", "and then I was thinking that",
              "so what I wanted to ask is", "my favourite colour is", "Can you tell me the weather in",
              "I need to buy some milk, eggs, and", "The reason I am calling is because", "What is the",
              "Could you remind me to", "I was wondering if you could"]


def median_ms(fn: object, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def costs(model: st.SmartTurn) -> None:
    code = "import time; t = time.perf_counter(); import onnxruntime; print((time.perf_counter() - t) * 1000)"
    imports = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(5)]
    load = median_ms(st.SmartTurn, 5)
    x = (np.random.default_rng(0).standard_normal(8 * RATE) * 0.1).astype(np.float32)
    feats = median_ms(lambda: st.log_mel(st.window(x)), 30)
    total = median_ms(lambda: model.finished(x), 30)
    print(f"import onnxruntime: {statistics.median(imports):.0f} ms; session load: {load:.0f} ms")
    print(f"8 s of audio: features {feats:.1f} ms, features + inference {total:.1f} ms (one thread)")


def labelled(folder: Path) -> list[tuple[str, bool, np.ndarray]]:
    """(name, finished, the turn's audio so far) for every sample."""
    rows: list[tuple[str, bool, np.ndarray]] = []
    if JFK.is_file():
        parts = fragments(np.concatenate([read_wav(JFK, RATE), np.zeros(RATE, np.float32)]))
        for i in range(len(parts)):  # the speech ends at 10.3 s ("... for your country"); then the crowd
            rows.append((f"JFK up to {parts[i].end_ms / 1000:.1f} s", parts[i].end_ms > 10_000,
                         np.concatenate([p.audio for p in parts[: i + 1]])))
    noise = (np.random.default_rng(0).standard_normal(RATE // 2) * 0.002).astype(np.float32)
    texts = [(t, True) for t in COMPLETE] + [(t, False) for t in UNFINISHED] + [(t + ",", False) for t in UNFINISHED]
    for i, (text, finished) in enumerate(texts):
        raw, wav = folder / f"{i}.wav", folder / f"{i}-16k.wav"
        subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
        subprocess.run(["sox", "-D", str(raw), "-r", str(RATE), str(wav), "silence", "1", "0.01", "1%", "reverse",
                        "silence", "1", "0.01", "1%", "reverse"], check=True)
        parts = fragments(np.concatenate([noise, read_wav(wav, RATE), noise]))
        rows.append((text, finished, np.concatenate([p.audio for p in parts])))
    return rows


def accuracy(model: st.SmartTurn, tails: bool) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        print("espeak-ng and sox are needed for the labelled set")
        return
    threshold = TurnSettings().threshold
    with tempfile.TemporaryDirectory() as tmp:
        rows = labelled(Path(tmp))
    right = both = 0
    for name, finished, audio in rows:
        p = model.finished(audio)
        right += (p >= threshold) == finished
        # with the transcript rule, the text as written (JFK: no transcript, so neutral)
        text = "" if name.startswith("JFK") else name
        both += (end_of_turn(reads(text), p, threshold) == "complete") == finished
        print(f"  {'finished' if finished else 'unfinished':10} {p:5.2f}  {name}")
    print(f"right at threshold {threshold}: {right}/{len(rows)} (tail {st.TAIL_MS} ms after the speech); "
          f"with the transcript rule: {both}/{len(rows)}")
    if tails:
        keep = st.TAIL_MS
        for tail in (0, 100, 150, 200):
            st.TAIL_MS = tail
            right = sum((model.finished(a) >= threshold) == f for _, f, a in rows)
            print(f"  tail {tail} ms: {right}/{len(rows)}")
        st.TAIL_MS = keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tails", action="store_true", help="also score with other tails after the speech")
    args = parser.parse_args()
    why = st.smart_turn_available()
    if why is not None:
        sys.exit(f"smart_turn_bench: {why}")
    model = st.SmartTurn()
    costs(model)
    accuracy(model, args.tails)


if __name__ == "__main__":
    main()
