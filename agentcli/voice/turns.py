"""Reading a transcript for turn taking: does it read finished, and is it the assistant's own voice?

`reads(text)` is the transcript rule of end-of-turn: "complete" (ends in . ? !), "unfinished" (a trailing
comma, dash or ellipsis, or a last word that needs a continuation: a conjunction, a preposition, an
article, a filler) or "neutral". `echo_of(text, said)` is the last line of defence against the session
answering itself: the user's words are (nearly) all, in order, words the assistant just said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

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
