"""The realtime client against the in-process simulator when the connection drops: reconnecting with the
history, a barge-in after a reconnect, giving up, a resumed session, a refused handshake retried, an
answer lost to a drop asked for again. No devices: FileSink / a clock sink."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.realtime.session import SessionOptions
from tests.realtime.harness import ClockSink, harness

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


async def test_reconnect_mid_answer_keeps_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from functools import partial

    from agentcli.sim.realtime import handle_realtime

    calls = {"n": 0}

    async def flaky(conn, request):  # the first connection drops after 40 server events (mid-answer)
        calls["n"] += 1
        await handle_realtime(conn, request, disconnect_after=40 if calls["n"] == 1 else None)

    script = {
        "hear": ["first question", "second question"],
        "turns": [{"match": ".*", "reply": ["Answer number {turn} to {input}, spoken at some length."]}],
    }
    async with harness(tmp_path, script, sim_route=partial(flaky)) as h:
        await h.say()
        await h.wait_for(lambda: h.session.reconnects == 1, 10)
        await h.wait_for(lambda: h.session.ready.is_set())
        notices = [n.message for n in h.of(ev.Notice)]
        assert any("dropped" in m for m in notices) and any("reconnected" in m for m in notices)
        replayed = [e["item"] for e in h.sent("conversation.item.create")]
        assert replayed[0]["role"] == "user" and replayed[0]["content"][0]["text"] == "first question"
        await h.say()
        done = await h.wait_for(lambda: [d for d in h.of(ev.TurnDone) if d.status == "ok"])
        # the model saw both user turns: the history survived the drop
        assert done[0].output == "Answer number 2 to second question, spoken at some length."
        # the speech of each turn on one timeline of the audio sent, though the server counted anew
        first, second = [(s.start_ms, s.end_ms) for s in h.of(ev.UserSpeech)]
        assert first[0] < first[1] <= 800.0 and 800.0 <= second[0] < second[1] <= 1600.0
        assert not h.received("error"), h.received("error")
        h.validate_wire()


async def test_barge_in_after_a_reconnect_rewrites_the_replayed_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer cut by the drop is replayed in full while its audio still plays; a barge-in then must
    leave only the heard part on the new server session, where the old answer was."""
    from functools import partial

    from agentcli.sim.realtime import handle_realtime

    calls = {"n": 0}

    async def flaky(conn, request):  # the first connection drops mid-answer, with audio still to play
        calls["n"] += 1
        await handle_realtime(conn, request, disconnect_after=40 if calls["n"] == 1 else None)

    long_answer = "This answer goes on for quite a while, " * 4 + "and then it ends."
    script = {"hear": ["first question"], "turns": [{"match": ".*", "reply": [long_answer]}]}
    async with harness(tmp_path, script, sink=ClockSink(), sim_route=partial(flaky)) as h:
        await h.say()
        await h.wait_for(lambda: h.session.reconnects == 1 and h.session.ready.is_set(), 10)
        replayed = {e["item"]["role"]: e["item"]["id"] for e in h.sent("conversation.item.create")}
        full = h.session.conversation.items[-1]["content"]
        assert h.session.output is not None and h.session.output.playing, "the cut answer still plays"
        await h.session.barge_in(local=True)
        heard = h.of(ev.Interrupted)[-1].heard_text
        assert heard and len(heard) < len(full) and full.startswith(heard)
        assert [e["item_id"] for e in h.sent("conversation.item.delete")] == [replayed["assistant"]]
        rewrite = h.sent("conversation.item.create")[-1]
        assert rewrite["previous_item_id"] == replayed["user"]
        assert rewrite["item"]["content"] == [{"type": "output_text", "text": heard}]
        assert not h.sent("conversation.item.truncate")  # the cut item is not on this server session
        await h.wait_for(lambda: h.received("conversation.item.done")[-1]["item"]["id"] == rewrite["item"]["id"])
        assert not h.received("error"), h.received("error")
        h.validate_wire()


async def test_gives_up_reconnecting_with_a_clear_error(tmp_path: Path) -> None:
    from agentcli.errors import ModelError

    async with harness(tmp_path, None, options=SessionOptions(give_up_s=0.5)) as h:
        await h.sim.stop()  # the server goes away for good
        assert h.runner is not None
        with pytest.raises(ModelError, match="could not reconnect within 0.5 s"):
            await asyncio.wait_for(h.runner, 5)
        assert any("dropped" in n.message for n in h.of(ev.Notice))


async def test_resumed_session_recreates_its_history(tmp_path: Path) -> None:
    from agentcli.runtime.conversation import Conversation

    history = [
        {"type": "message", "role": "user", "content": "my name is Ada"},
        {"type": "message", "role": "assistant", "content": "Hello Ada."},
    ]
    conv = Conversation(items=list(history), agent="front", name="resumed", turns=1)
    script = {"turns": [{"reply": ["Turn {turn}: {input}"]}]}
    async with harness(tmp_path, script, options=SessionOptions(text_only=True), sink=None, conversation=conv) as h:
        created = [e["item"] for e in h.sent("conversation.item.create")]
        assert [(i["role"], i["content"][0]["text"]) for i in created] == [
            ("user", "my name is Ada"),
            ("assistant", "Hello Ada."),
        ]
        assert any("resumed" in n.message for n in h.of(ev.Notice))
        await h.session.send_text("what is my name")
        done = await h.turn_done(1)
        assert done.output == "Turn 2: what is my name" and done.turn == 2
        h.validate_wire()


async def test_handshake_503_is_retried_against_the_simulator(tmp_path: Path) -> None:
    async with harness(tmp_path, {"faults": [{"status": 503, "times": 2}]}, sink=None) as h:
        assert h.session.ready.is_set()
        assert [r.attempt for r in h.of(ev.Retrying)] == [1, 2]
        assert "HTTP 503" in h.of(ev.Retrying)[0].reason


async def test_answer_lost_to_a_drop_is_asked_for_again(tmp_path: Path) -> None:
    """The socket drops after the user's turn was committed and transcribed, before any of the answer:
    the reconnected session recreates the question and answers it."""
    from agentcli.sim.realtime import RealtimeSimSession
    from agentcli.sim.realtime.session import FaultClose

    connections = {"n": 0}

    async def drops_before_the_answer(conn, request):  # first connection: gone at the answer's first word
        connections["n"] += 1
        session = RealtimeSimSession(conn, request.sim, "gpt-realtime")
        if connections["n"] == 1:
            send = session.send

            async def send_or_drop(event):
                if event["type"].startswith("response.output_"):
                    await conn.aclose_transport()
                    raise FaultClose("dropped")
                await send(event)

            session.send = send_or_drop
        await session.run()

    script = {"hear": ["what time is it"], "turns": [{"match": ".*", "reply": ["You asked: {input}"]}]}
    async with harness(tmp_path, script, sim_route=drops_before_the_answer) as h:
        await h.say()
        done = await h.turn_done(1, timeout=10)
        assert h.session.reconnects == 1
        assert done.status == "ok" and done.output == "You asked: what time is it"
        assert [t.turn for t in h.of(ev.TurnStarted)] == [1]
        replayed = [e["item"] for e in h.sent("conversation.item.create")]
        assert replayed[0]["content"][0]["text"] == "what time is it"
        assert not h.received("error"), h.received("error")
        h.validate_wire()

    # no transcription: the client never had the words, so the question goes up again as its audio
    connections["n"] = 0
    script = {"hear": ["first hearing", "second hearing"], "turns": [{"match": ".*", "reply": ["You asked: {input}"]}]}
    (tmp_path / "2").mkdir()
    async with harness(tmp_path / "2", script, "untranscribed.yaml", sim_route=drops_before_the_answer) as h:
        await h.say(0.5)
        done = await h.turn_done(1, timeout=10)
        assert done.status == "ok" and done.output == "You asked: second hearing"
        [item] = [e["item"] for e in h.sent("conversation.item.create")]
        assert item["role"] == "user" and item["content"][0]["type"] == "input_audio"
        assert "0.5 s" not in done.output and len(h.of(ev.TurnDone)) == 1
        assert not h.received("error"), h.received("error")
        h.validate_wire()
