"""The last line of defence against the assistant talking to itself: a user turn whose words are what the
assistant just said is its own voice come back through the microphone (an echo canceller can diverge, a
speaker can be turned up), and is dropped rather than answered.

Words are compared normalized (lower case, letters and digits only), fuzzily: transcription of an echo
is never exact. A user turn is an echo when at least `min_words` of its words and `ratio` of them appear,
in order, in one of the recent answers. Only speech that began while an answer was heard, or just after,
is checked (agentcli/realtime/hearing.py), and only against answers that came before it: an answer that
quotes the question is not where the question came from. A user repeating a phrase of the answer back over
it is rare enough to accept being asked again.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

RECENT_ANSWERS = 2  # the answers an echo may come from: the one playing and the one before
MIN_WORDS = 3  # "yes", "okay thanks" may well be the user's own words
RATIO = 0.75

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class EchoMatch:
    def __init__(self, min_words: int = MIN_WORDS, ratio: float = RATIO):
        self.min_words = min_words
        self.ratio = ratio

    def is_echo(self, heard: str, recent: list[str]) -> bool:
        """Whether `heard` (the user's transcript) is one of the `recent` assistant texts come back."""
        said = words(heard)
        if len(said) < self.min_words:
            return False
        for text in recent:
            answer = words(text)
            if not answer:
                continue
            matcher = SequenceMatcher(None, said, answer, autojunk=False)
            matched = sum(block.size for block in matcher.get_matching_blocks())
            if matched >= self.min_words and matched / len(said) >= self.ratio:
                return True
        return False
