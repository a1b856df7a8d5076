"""Mapping heard milliseconds onto the answer's text, and cutting a turn's items to it."""

from __future__ import annotations

from agentcli import events as ev
from agentcli.voice.history import SpokenSentence, TurnItems, heard_chars, heard_text, truncate_turn

A = "The weather is sunny. "
B = "Rain comes tomorrow evening."


def test_whole_sentences_heard() -> None:
    spoken = [SpokenSentence(A, 1000, 1000, True), SpokenSentence(B, 1200, 0, True)]
    assert heard_chars(spoken) == len(A)


def test_proportional_share_cut_at_a_word() -> None:
    spoken = [SpokenSentence(A, 1000, 1000, True), SpokenSentence(B, 1000, 500, True)]
    n = heard_chars(spoken)
    assert (A + B)[:n] == A + "Rain comes"  # half of B is "Rain comes tom|orrow": back to a whole word


def test_sentence_still_synthesizing_uses_an_estimate() -> None:
    # 100 ms of audio so far, but 28 characters will take ~1.8 s at the rate the first sentence had
    spoken = [SpokenSentence(A, 1400, 1400, True), SpokenSentence(B, 100, 100, False)]
    n = heard_chars(spoken)
    assert len(A) <= n < len(A) + 5


def test_nothing_heard() -> None:
    assert heard_chars([SpokenSentence(A, 1000, 0, True)]) == 0
    assert heard_chars([]) == 0


def test_silent_sentence_counts_with_its_neighbours() -> None:
    spoken = [SpokenSentence(A, 1000, 1000, True), SpokenSentence("---\n", 0, 0, True),
              SpokenSentence(B, 1000, 0, True)]
    assert heard_chars(spoken) == len(A) + 4


def test_truncate_keeps_completed_tool_calls_and_drops_dangling_ones() -> None:
    items = [
        {"type": "message", "role": "user", "content": "weather?"},
        {"type": "message", "role": "assistant", "content": "Let me check. "},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "message", "role": "assistant", "content": "It is sunny all day."},
        {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{}"},
    ]
    kept = truncate_turn(items, len("Let me check. It is sunny"))
    assert [i["type"] for i in kept] == ["message", "message", "function_call", "function_call_output",
                                         "message"]
    assert kept[4]["content"] == "It is sunny" and kept[4]["_interrupted"] is True
    assert "_interrupted" not in kept[1]
    assert heard_text(kept) == "Let me check. It is sunny"
    assert items[4]["content"] == "It is sunny all day."  # the input is not changed


def test_truncate_to_nothing_drops_the_answer() -> None:
    items = [{"type": "message", "role": "user", "content": "hi"},
             {"type": "message", "role": "assistant", "content": "Hello!"}]
    assert truncate_turn(items, 0) == [items[0]]


def test_turn_items_rebuilt_from_events() -> None:
    t = TurnItems("weather?")
    for e in [ev.AgentStarted(agent="a"), ev.TextDelta(delta="Checking. "), ev.GenerationDone(),
              ev.ToolCallStarted(call_id="c1", name="w", arguments="{}"),
              ev.ToolCallFinished(call_id="c1", name="w", output="sunny"),
              ev.ToolCallStarted(call_id="c2", name="w", arguments="{}"),  # never finished
              ev.TextDelta(delta="It is")]:
        t.on_event(e)
    items = t.finish()
    assert [i["type"] for i in items] == ["message", "message", "function_call", "function_call_output",
                                          "message"]
    assert items[4]["content"] == "It is"
    assert not t.committed
