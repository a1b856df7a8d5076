"""Reading a transcript for turn taking: does it read finished, and is it the assistant's own voice?

`reads(text)` is the transcript rule of end-of-turn: "complete" (ends in . ? !), "unfinished" (a trailing
comma, dash or ellipsis, or a last word that needs a continuation: a conjunction, a preposition, an
article, a filler) or "neutral". `end_of_turn(reads, finished, threshold)` adds the acoustic model's
verdict (audio/smart_turn.py), when there is one; `Listener` runs that model at each pause of a hands-free
turn (`voice.turn.model`). `echo_of(text, said)` is the last line of defence against the session
answering itself: the user's words are (nearly) all, in order, words the assistant just said.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from agentcli.spec.model import TurnSettings

_WORD = re.compile(r"[\w']+")
_UNFINISHED_END = (",", ";", ":", "-", "–", "—", "…", "...")
_COMPLETE_END = (".", "?", "!")
# Words a thought does not end on. Kept short and common: a wrong "unfinished" costs max_wait_ms once.
_CONTINUES = frozenset("""
and or but so because since although though if unless until while whereas than nor plus
to of for from at by with without into onto between through via per
the a an my your our their his her its every
um uh er erm hmm uhm
""".split())
ECHO_MIN_WORDS = 3  # shorter transcripts ("okay", "yes please") are too common to call an echo
ECHO_MATCH = 0.8  # this share of the user's words found, in order, in what the assistant said


def words(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return _WORD.findall(text.lower())


def reads(text: str) -> str:
    """complete | unfinished | neutral: how a transcript reads at its end."""
    t = text.strip().strip("\"'”’)")
    if not t:
        return "neutral"
    if t.endswith(_UNFINISHED_END):
        return "unfinished"
    if t.endswith(_COMPLETE_END):
        return "complete"
    w = words(t)
    if w and w[-1] in _CONTINUES:
        return "unfinished"
    return "neutral"


def end_of_turn(reads: str | None, finished: float | None, threshold: float = 0.5) -> str | None:
    """How the turn so far reads, with the acoustic model's P(finished) when it has one (None: no model, or
    it failed). None while the transcript is not known.

    The model hears what a transcript hides: a real STT ends most fragments with a full stop, and a
    sentence without punctuation may well be over. So it decides between "complete" and "unfinished",
    except that words that need a continuation ("and", "to the", a trailing comma) stay unfinished: a
    falling pitch on "and" is a pause for thought, not the end."""
    if reads is None or finished is None or reads == "unfinished":
        return reads
    return "complete" if finished >= threshold else "unfinished"


def echo_of(text: str, said: Iterable[str]) -> bool:
    """True when `text` (a user transcript) is mostly the assistant's recent speech `said`, in order."""
    user = words(text)
    if len(user) < ECHO_MIN_WORDS:
        return False
    spoken = [w for s in said for w in words(s)]
    if not spoken:
        return False
    matcher = SequenceMatcher(None, user, spoken, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched >= ECHO_MATCH * len(user)


_warned: set[str] = set()
EARLY_MS = 100  # of quiet after the last voiced frame: the model hears 50 of it (audio/smart_turn.TAIL_MS)


class Listener:
    """The acoustic end-of-turn model of a hands-free session: it scores the whole turn so far in a worker
    thread (~30 ms on an idle core, 60-150 ms while the pipeline runs) while the transcript and the
    prepared answer run. It starts EARLY_MS into a pause, before the turn detector ends the fragment
    (prepare_ms), so that its verdict is in by complete_ms."""

    def __init__(self, model: Any, threshold: float, rate: int = 16000) -> None:
        self.model = model
        self.threshold = threshold
        self.rate = rate
        self._score: asyncio.Future[float | None] | None = None
        self._scored: float | None = None  # the last voiced frame (its time) the score's audio ends on
        self._speech: list[np.ndarray] | None = None  # the fragment in progress, from its start
        self._voiced: float | None = None  # the detector's last voiced frame, as last seen
        self._quiet_ms = 0.0  # audio fed since then

    @classmethod
    def load(cls, settings: TurnSettings, rate: int = 16000) -> Listener | None:
        """None for `model: none`, or when the model cannot run here (said once on stderr: the transcript
        rule alone decides then, as it does by default)."""
        if settings.model == "none":
            return None
        from agentcli.audio.smart_turn import SmartTurn, smart_turn_available

        why = smart_turn_available()
        if why is None:
            try:
                model = SmartTurn()
                # the first inference costs ~5x the next ones: pay it now, off the event loop
                threading.Thread(target=model.warm_up, daemon=True, name="smart-turn-warm-up").start()
                return cls(model, settings.threshold, rate)
            except Exception as e:  # a corrupt or incompatible model file
                why = f"Smart Turn cannot be loaded ({type(e).__name__}: {e})"
        if why not in _warned:
            _warned.add(why)
            print(f"agent: {why}; ending turns by the transcript alone", file=sys.stderr)
        return None

    def hear(self, block: np.ndarray, events: list[Any], detector: Any, before: list[np.ndarray]) -> None:
        """Each microphone block, after the turn detector (its `events`): keeps the fragment in progress and
        scores the turn so far (`before` it, then it) once it has been quiet EARLY_MS."""
        from agentcli.audio.vad import SpeechStart

        started = False
        for event in events:
            started = isinstance(event, SpeechStart)
            self._speech = [event.audio] if started else None  # an end, or noise, ends the fragment
        if self._speech is None or not detector.in_speech:
            return
        if not started:  # the start's audio holds the block it started in
            self._speech.append(block)
        voiced = getattr(detector, "last_voiced_frame_time", None)
        if voiced != self._voiced:
            self._voiced, self._quiet_ms = voiced, 0.0
            return
        self._quiet_ms += block.shape[0] * 1000.0 / self.rate
        if voiced is not None and self._quiet_ms >= EARLY_MS and self._scored != voiced:
            import numpy as np

            self._start(np.concatenate([*before, *self._speech]), voiced)

    def listen(self, audio: np.ndarray, voiced: float | None = None) -> None:
        """The fragment ended: score the turn so far, unless the early score is for this same speech (no
        voiced frame since; the silence after it is cut from the model's input anyway)."""
        if voiced is None or voiced != self._scored or self._score is None:
            self._start(audio, voiced)
        self._scored = None  # an early score serves one fragment's end

    def _start(self, audio: np.ndarray, voiced: float | None) -> None:
        self._scored = voiced
        self._score = asyncio.get_running_loop().run_in_executor(None, self._finished, audio)

    def _finished(self, audio: np.ndarray) -> float | None:
        try:
            return float(self.model.finished(audio, self.rate))
        except Exception:  # noqa: BLE001 - a failed inference leaves the decision to the transcript
            return None

    @property
    def p(self) -> float | None:
        """The model's P(finished) of the turn so far, once scored; None before, or when it failed."""
        score = self._score
        return score.result() if score is not None and score.done() and not score.cancelled() else None

    def reads(self, transcript: str | None) -> str | None:
        """end_of_turn() of the turn so far; None until both the transcript and the score are known."""
        score = self._score
        if score is None:
            return transcript
        if not score.done():
            return None
        return end_of_turn(transcript, score.result(), self.threshold)
