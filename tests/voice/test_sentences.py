"""The streaming sentence splitter and speakable()."""

from __future__ import annotations

import pytest

from agentcli.voice.sentences import CODE_OMITTED, SentenceSplitter, shorten_url, speakable


def split(text: str, step: int = 1, **kw: int) -> list[str]:
    """Feed `text` in `step`-sized deltas, then flush; the pieces must join back to the text."""
    splitter = SentenceSplitter(**kw)
    out: list[str] = []
    for i in range(0, len(text), step):
        out += splitter.feed(text[i : i + step])
    out += splitter.flush()
    assert "".join(out) == text
    return [p.strip() for p in out]


@pytest.mark.parametrize("step", [1, 3, 1000])
def test_sentences_independent_of_delta_size(step: int) -> None:
    text = "Hello there, friend! How are you doing today? I am fine, thanks."
    assert split(text, step) == ["Hello there, friend!", "How are you doing today?", "I am fine, thanks."]


def test_sentence_is_returned_as_soon_as_it_ends() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("The first sentence is here.") == []  # "." at the end: could be "3.5"
    assert splitter.feed(" The") == ["The first sentence is here. "]
    assert splitter.feed(" second one") == []
    assert splitter.flush() == ["The second one"]


def test_abbreviations_decimals_and_initials_do_not_split() -> None:
    text = "It costs 3.5 euros, e.g. at Dr. Smith's shop. J. R. R. Tolkien wrote it i.e. the book. Next one."
    assert split(text) == [
        "It costs 3.5 euros, e.g. at Dr. Smith's shop.",
        "J. R. R. Tolkien wrote it i.e. the book.",
        "Next one.",
    ]


def test_urls_and_versions_do_not_split() -> None:
    assert split("See example.com/a.b for v1.2.3 notes, please. Then stop now.") == [
        "See example.com/a.b for v1.2.3 notes, please.",
        "Then stop now.",
    ]


def test_multilingual_punctuation() -> None:
    assert split("今日はいい天気ですね。明日も晴れるでしょう！本当ですか？") == [
        "今日はいい天気ですね。",
        "明日も晴れるでしょう！",
        "本当ですか？",
    ]
    assert split("¿Qué tal estás hoy? Muy bien… gracias por preguntar.") == [
        "¿Qué tal estás hoy?",
        "Muy bien… gracias por preguntar.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    assert split('He said "it is done." Then he left the room.') == [
        'He said "it is done."',
        "Then he left the room.",
    ]


def test_newlines_and_list_items_split() -> None:
    text = "Here are the steps to follow\n\n1. Preheat the oven.\n2. Bake for twenty minutes\n- Serve it warm"
    assert split(text) == [
        "Here are the steps to follow",
        "1. Preheat the oven.",
        "2. Bake for twenty minutes",
        "- Serve it warm",
    ]


def test_short_fragments_merge_with_the_next() -> None:
    assert split("Sure. Ok. The weather in Paris is sunny.") == ["Sure. Ok. The weather in Paris is sunny."]
    # at the very end, a short piece is still spoken
    assert split("The weather in Paris is sunny. Bye.") == ["The weather in Paris is sunny.", "Bye."]
    assert split("Hi.", min_chars=12) == ["Hi."]


def test_code_block_is_one_piece() -> None:
    text = "Run this command:\n```bash\necho one.\necho two.\n```\nThat prints two lines."
    pieces = split(text, 2)
    assert pieces == ["Run this command:", "```bash\necho one.\necho two.\n```", "That prints two lines."]


def test_long_clause_is_cut_at_a_comma() -> None:
    text = "word " * 30 + ", and " + "more " * 40 + "end"
    pieces = split(text, 5, max_chars=200)
    assert len(pieces) == 2
    assert pieces[0].endswith(",")


def test_flush_of_nothing() -> None:
    splitter = SentenceSplitter()
    assert splitter.flush() == []
    assert splitter.feed("   ") == []
    assert splitter.flush() == []


def test_speakable_strips_markdown() -> None:
    md = "## The **plan**\n\n- Use *care* and __focus__\n- ~~old~~ new\n> quoted `x = 1`"
    assert speakable(md) == "The plan. Use care and focus old new quoted x = 1"


def test_speakable_links_and_urls() -> None:
    assert speakable("Read [the guide](https://docs.example.com/a/b_(c)) now.") == "Read the guide now."
    assert speakable("Go to https://www.example.com/path?q=1.") == "Go to example.com."
    assert speakable("![a cat](cat.png) is cute") == "a cat is cute"
    assert shorten_url("http://sub.site.org:8080/x") == "sub.site.org"


def test_speakable_code() -> None:
    assert speakable("Do this:\n```python\nprint('hi')\n```\nDone.") == f"Do this: {CODE_OMITTED} Done."
    assert speakable("```js\nlet a = 1;") == CODE_OMITTED  # cut off mid-block
    assert speakable("call `" + "x" * 60 + "` now") == f"call {CODE_OMITTED} now"


def test_speakable_keeps_snake_case_and_math() -> None:
    assert speakable("set my_var_name to 2 * 3 * 4") == "set my_var_name to 2 * 3 * 4"


def test_speakable_tables() -> None:
    md = "| City | Temp |\n|---|---|\n| Paris | 20 |"
    assert speakable(md) == "City, Temp Paris, 20"
