"""Cut the agent's streaming text into sentences for speech, and make Markdown fit to be read aloud.

The splitter returns each sentence's raw text exactly as it streamed (whitespace included), so the
sentences joined give back the original: barge-in maps what was heard back onto the history's text.
"""

from __future__ import annotations

import re

# Terminators that end a sentence only when followed by whitespace (so "3.5" and "a.b" stay whole).
_SPACED_ENDS = ".!?…"
# Terminators that end a sentence on their own (CJK, Devanagari, Arabic question mark).
_BARE_ENDS = "。！？｡।؟"
_CLOSERS = "\"'”’»)]}」』】"
_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "cf", "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "no",
    "fig", "inc", "ltd", "co", "approx", "dept", "est", "a.m", "p.m", "u.s", "u.k", "ph.d", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "z.b", "bzw", "usw", "ca",
}
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)


class SentenceSplitter:
    """Feed text deltas; get complete sentences as soon as they end.

    A sentence ends at . ! ? … followed by whitespace (not after an abbreviation, an initial or a list
    number), at 。！？ and the like, or at a newline. A piece shorter than `min_chars` is held and joined to
    the next, so "Sure." is not synthesized alone. A fenced code block is returned whole, as one piece.
    A clause longer than `max_chars` is cut at its last comma-like break so speech starts early.
    """

    def __init__(self, min_chars: int = 12, max_chars: int = 300) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buf = ""
        self._scan = 0  # where to resume looking for an end in _buf
        self._held = ""  # complete pieces too short to speak alone

    def feed(self, delta: str) -> list[str]:
        self._buf += delta
        out: list[str] = []
        while True:
            end = self._find_end()
            if end is None:
                break
            piece, self._buf = self._buf[:end], self._buf[end:]
            self._scan = 0
            out.append(piece)
        return self._merge(out)

    def flush(self) -> list[str]:
        """Everything still held (the end of a generation)."""
        rest, self._buf, self._scan = self._buf, "", 0
        return self._merge([rest] if rest else [], final=True)

    # -- internals -------------------------------------------------------------------------------
    def _merge(self, pieces: list[str], final: bool = False) -> list[str]:
        out: list[str] = []
        for piece in pieces:
            self._held += piece
            if _spoken_length(self._held) >= self.min_chars:
                out.append(self._held)
                self._held = ""
        if final and self._held:
            if self._held.strip():
                out.append(self._held)
            elif out:
                out[-1] += self._held
            self._held = ""
        return out

    def _find_end(self) -> int | None:
        """Index just past the end of the first complete piece in the buffer, or None."""
        buf = self._buf
        fence = _FENCE.search(buf)
        if fence is not None:
            before = buf[: fence.start()]
            end = self._find_end_in(before)
            if end is not None:
                return end
            if before.strip():
                return fence.start()  # text before the code block is a piece of its own
            close = _FENCE.search(buf, fence.end())
            if close is None:
                return None  # wait for the whole block
            nl = buf.find("\n", close.end())
            return None if nl < 0 else nl + 1
        end = self._find_end_in(buf)
        if end is None and len(buf) > self.max_chars:
            cut = max(buf.rfind(c, 0, self.max_chars) for c in (", ", "; ", ": ", " – ", " — ", "，", "、"))
            if cut > self.min_chars:
                return cut + 2 if buf[cut + 1] == " " else cut + 1
        return end

    def _find_end_in(self, buf: str) -> int | None:
        i = self._scan
        n = len(buf)
        while i < n:
            ch = buf[i]
            if ch == "\n":
                if buf[:i].strip():
                    j = i + 1
                    while j < n and buf[j] == "\n":
                        j += 1
                    return j
            elif ch in _BARE_ENDS:
                j = _past_closers(buf, i + 1)
                if j >= n:
                    self._scan = i
                    return None  # a closing quote may still come
                return j
            elif ch in _SPACED_ENDS:
                j = i + 1
                while j < n and buf[j] in _SPACED_ENDS:
                    j += 1
                j = _past_closers(buf, j)
                if j >= n:
                    self._scan = i
                    return None  # can't tell "3." from "3.5" yet
                if buf[j].isspace() and not (ch == "." and _is_abbreviation(buf, i)):
                    while j < n and buf[j].isspace():
                        j += 1
                    return j
                i = j - 1
            i += 1
        self._scan = n
        return None


def _spoken_length(text: str) -> int:
    # a CJK character says about as much as a short word
    return sum(3 if ord(c) >= 0x2E80 else 1 for c in text.strip())


def _past_closers(buf: str, j: int) -> int:
    while j < len(buf) and buf[j] in _CLOSERS:
        j += 1
    return j


def _line_start(buf: str, i: int) -> int:
    return buf.rfind("\n", 0, i) + 1 if i > 0 else 0


def _is_abbreviation(buf: str, dot: int) -> bool:
    """Whether the "." at `dot` ends an abbreviation, an initial ("J. Smith") or a list number ("2. ")."""
    start = dot
    while start > 0 and not buf[start - 1].isspace() and buf[start - 1] not in "(\"'“‘[":
        start -= 1
    word = buf[start:dot]
    if not word:
        return False
    if word.lower() in _ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial
    return word.isdigit() and not buf[_line_start(buf, start) : start].strip()  # "1. " opening a line


# --- speakable ---------------------------------------------------------------------------------------

_CODE_BLOCK = re.compile(r"(^|\n)[ \t]*(```|~~~)[^\n]*\n.*?(\n[ \t]*\2[^\n]*|$)", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)(]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]]+", re.IGNORECASE)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+•][ \t]+)", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]*>+[ \t]?", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(.+?)~~")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
CODE_OMITTED = "(code omitted)"


def shorten_url(url: str) -> str:
    """A URL as it is said: its host without www. ("https://www.example.com/a?b" -> "example.com")."""
    url = url.rstrip(".,;:!?'\"")
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    return re.split(r"[/?#:]", host, maxsplit=1)[0] or url


def speakable(text: str) -> str:
    """Text fit for speech: Markdown marks dropped, links read as their text, URLs as their host,
    code blocks replaced by a short phrase, long inline code too. Whitespace collapsed."""
    text = _CODE_BLOCK.sub(lambda m: f"{m.group(1)}{CODE_OMITTED}\n", text)
    # an unclosed fence (the block was cut off): drop the rest
    text = re.sub(r"(^|\n)[ \t]*(```|~~~).*", lambda m: f"{m.group(1)}{CODE_OMITTED}", text, flags=re.DOTALL)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _URL.sub(lambda m: shorten_url(m.group(0)) + _trailing_punct(m.group(0)), text)
    text = _INLINE_CODE.sub(lambda m: m.group(1) if len(m.group(1)) <= 40 else CODE_OMITTED, text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub(lambda m: m.group(1) + ("" if m.group(1)[-1:] in ".!?:" else "."), text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    text = _BOLD.sub(lambda m: m.group(2), text)
    text = _STRIKE.sub(lambda m: m.group(1), text)
    text = _ITALIC_STAR.sub(lambda m: m.group(1), text)
    text = _ITALIC_UNDER.sub(lambda m: m.group(1), text)
    text = _HTML_TAG.sub("", text)
    text = re.sub(r"[ \t]*\|[ \t]*", ", ", text)  # table cells
    text = re.sub(r"(^|\n)(, )+|(, )+(?=\n|$)", lambda m: m.group(1) or "", text)
    return " ".join(text.split())


def _trailing_punct(url: str) -> str:
    stripped = url.rstrip(".,;:!?'\"")
    return url[len(stripped) :]
