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


class Listener:
    """The acoustic end-of-turn model of a hands-free session: at each pause it scores the whole turn so
    far in a worker thread (~30 ms, one core), while the transcript and the prepared answer run."""

    def __init__(self, model: Any, threshold: float) -> None:
        self.model = model
        self.threshold = threshold
        self._score: asyncio.Future[float | None] | None = None

    @classmethod
    def load(cls, settings: TurnSettings) -> Listener | None:
        """None for `model: none`, or when the model cannot run here (said once on stderr: the transcript
        rule alone decides then, as it does by default)."""
        if settings.model == "none":
            return None
        from agentcli.audio.smart_turn import SmartTurn, smart_turn_available

        why = smart_turn_available()
        if why is None:
            try:
                return cls(SmartTurn(), settings.threshold)
            except Exception as e:  # a corrupt or incompatible model file
                why = f"Smart Turn cannot be loaded ({type(e).__name__}: {e})"
        if why not in _warned:
            _warned.add(why)
            print(f"agent: {why}; ending turns by the transcript alone", file=sys.stderr)
        return None

    def listen(self, audio: np.ndarray, rate: int) -> None:
        """A pause: score the turn so far (the previous score is for a shorter turn, and is dropped)."""
        self._score = asyncio.get_running_loop().run_in_executor(None, self._finished, audio, rate)

    def _finished(self, audio: np.ndarray, rate: int) -> float | None:
        try:
            return float(self.model.finished(audio, rate))
        except Exception:  # noqa: BLE001 - a failed inference leaves the decision to the transcript
            return None

    def reads(self, transcript: str | None) -> str | None:
        """end_of_turn() of the turn so far; None until both the transcript and the score are known."""
        score = self._score
        if score is None:
            return transcript
        if not score.done():
            return None
        return end_of_turn(transcript, score.result(), self.threshold)
