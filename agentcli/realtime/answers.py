"""The assistant's side of a realtime conversation: responses one at a time, their audio and text, tool
calls and handoffs, barge-in and output guardrails. RealtimeSession routes response events here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agentcli import events as ev
from agentcli.audio.sink import silenced, silent_since
from agentcli.models.base import ModelToolCall
from agentcli.realtime.audio_io import OutputAudio
from agentcli.realtime.guard import OutputGuard
from agentcli.realtime.reconnect import new_item_id, rewrite_replayed
from agentcli.realtime.server_events import (
    AudioDelta,
    AudioDone,
    FunctionCallDone,
    FunctionCallsCancelled,
    ResponseCreated,
    ResponseDone,
    TextDelta,
    TextDone,
)
from agentcli.realtime.state import History, Link, Responding, ResponseState, UserInput, heard_part
from agentcli.realtime.tools import DROPPED, ENDED, AgentTools, CallRun
from agentcli.realtime.turns import Turns
from agentcli.runtime.guardrails import Verdict


class Answers:
    def __init__(
        self,
        link: Link,
        history: History,
        user: UserInput,
        turns: Turns,
        tools: AgentTools,
        emit: Callable[[ev.Event], None],
        *,
        server_cancels: bool,
    ):
        self.link, self.history, self.user, self.turns, self.tools = link, history, user, turns, tools
        self.emit = emit
        self.server_cancels = server_cancels  # the server cancels a response itself when the user talks
        self.responding = Responding()
        self.output: OutputAudio | None = None
        self.calls: CallRun | None = None  # the function calls running now (responding.tool_task's)

    @property
    def agent(self) -> str:
        return self.history.conversation.agent

    # --- asking for responses ---------------------------------------------------------------------------

    async def request(self) -> None:
        """Ask for a response now, or as soon as the one in progress ends (never two at once)."""
        s = self.responding
        if s.current is not None or s.create_pending or s.tool_task is not None:
            s.want_response = True
            return
        s.want_response = False
        s.create_pending = True
        if await self.link.soft(lambda m: m.create_response()) is False:  # nothing to answer (Gemini)
            s.create_pending = False

    def create_refused(self) -> None:
        """The server was already answering (its VAD raced us): ask again after that answer."""
        self.responding.create_pending = False
        self.responding.want_response = True

    # --- the response's events --------------------------------------------------------------------------

    async def created(self, e: ResponseCreated) -> None:
        asked = self.responding.create_pending
        self.responding.create_pending = False
        state = ResponseState(id=e.response_id, started=ev.now(), t0=time.perf_counter())
        if self.responding.ignore_auto and not asked:  # the server answering input the client dropped
            self.responding.ignore_auto = False
            state.cancelled = state.ignored = True
            self.responding.current = state
            await self.link.soft(lambda m: m.cancel_response())
            return
        self.user.awaiting_reply = False
        turn = self.turns.current
        if turn is None:  # a response the server started on its own
            turn = self.turns.open(base=time.perf_counter())
        state.turn, state.turn_id = turn.index, turn.turn_id
        checks = self.tools.output_guardrails.get(self.agent) or []
        if checks:

            async def tripped(name: str, verdict: Verdict) -> None:
                await self._guard_tripped(state, name, verdict)

            state.guard = OutputGuard(checks, self.tools.agent(self.agent).name, self._teller(state), tripped)
        self.responding.current = state
        self.turns.mark("response_created")

    async def assistant_item(self, item_id: str) -> None:
        current = self.responding.current
        if current is not None and current.ignored:  # nobody asked for it: gone from the server too
            self.history.own_ids.add(item_id)
            await self.link.soft(lambda m: m.delete_item(item_id))
            return
        self.history.add(
            {
                "type": "message",
                "role": "assistant",
                "content": "",
                "_id": item_id,
                "_agent": self.tools.agent(self.agent).name,
            }
        )
        if current is not None and current.item_id is None:
            current.item_id = item_id

    def _teller(self, state: ResponseState) -> Callable[[ev.Event], None]:
        """Emits events of the turn `state` answers."""
        return lambda event: self.turns.tell(event, state.turn_id)

    def _live(self, response_id: str) -> ResponseState | None:
        """The response an event belongs to, or None when its deltas are to be ignored."""
        state = self.responding.current
        if state is None or state.cancelled or response_id != state.id:
            return None
        return state

    def _first_delta(self, state: ResponseState, at: float | None = None) -> None:
        if state.first_delta is None:
            state.first_delta = at or time.perf_counter()
            self.turns.mark("first_token", state.first_delta)

    def audio_delta(self, e: AudioDelta) -> None:
        received = time.perf_counter()  # before the write: the audio thread may play it at once
        state = self._live(e.response_id)
        if state is None or self.output is None:
            return
        current = self.output.current
        first = current is None or current.item_id != e.item_id
        playing = self.output.write(e.item_id, state.id, e.delta)
        if first:
            self._first_delta(state, received)
            self.turns.mark("first_audio_byte", received)  # the first audio delta received
            t = self.turns.current
            if t is not None and t.utterance is None:  # the first sample played is the answer's first
                t.utterance = playing.utterance
            self.turns.tell(ev.StateChanged(state="speaking"), state.turn_id)

    def audio_done(self, e: AudioDone) -> None:
        if self.output is not None:
            self.output.complete(e.item_id)

    def text_delta(self, e: TextDelta) -> None:
        state = self._live(e.response_id)
        if state is None or not e.delta:
            return
        self._first_delta(state)
        state.transcript += e.delta
        entry = self.history.by_id.get(e.item_id)
        if entry is not None:
            entry["content"] = state.transcript
        self.turns.tell(ev.TranscriptDelta(role="assistant", delta=e.delta), state.turn_id)
        if state.guard is not None:
            state.guard.feed(state.transcript)

    def text_done(self, e: TextDone) -> None:
        state = self._live(e.response_id)
        if state is not None:
            state.transcript = e.text
            entry = self.history.by_id.get(e.item_id)
            if entry is not None:
                entry["content"] = e.text

    def function_call(self, e: FunctionCallDone) -> None:
        state = self._live(e.response_id)
        if state is None:
            return
        state.calls.append(ModelToolCall(e.call_id, e.name, e.arguments))
        entry = {"type": "function_call", "call_id": e.call_id, "name": e.name, "arguments": e.arguments}
        self.history.add({**entry, "_id": e.item_id})

    async def done(self, e: ResponseDone) -> None:
        current = self.responding.current
        state = current if current is not None and current.id == e.response_id else None
        if state is not None:
            self.responding.current = None
        usage = ev.Usage(e.input_tokens, e.output_tokens)
        if state is None or not state.ignored:
            self.turns.announce()
        first_ms = None
        if state is not None and state.first_delta is not None:
            first_ms = round((state.first_delta - state.t0) * 1000, 1)
        self.turns.tell(
            ev.RealtimeResponseDone(
                response_id=e.response_id,
                status=e.status,
                usage=usage,
                first_delta_ms=first_ms,
                started=state.started if state else None,
                transcript=state.transcript if state else "",
            ),
            state.turn_id if state is not None else self.turns.current_id(),
        )
        turn = self.turns.current
        if turn is not None:
            turn.usage.add(usage)
        cut_short = f"the answer was cut short ({e.reason or 'incomplete'})"
        if state is None or state.cancelled:
            pass  # cut off by a barge-in, a guardrail or a drop: its turn was finished there
        elif e.status == "failed":
            self.turns.finish("error", error=f"response failed: {e.error or e.reason or 'no reason given'}")
        elif e.status == "cancelled":
            if turn is not None:
                turn.output = state.transcript
            self.turns.finish("interrupted", error=f"response cancelled: {e.reason or 'cancelled'}", interrupted=True)
        elif state.calls:  # completed, or incomplete: the calls it made still run
            if e.status == "incomplete":
                self.turns.tell(ev.Notice(message=cut_short, level="warning"), state.turn_id)
            self.responding.tool_task = asyncio.ensure_future(self._run_tools(state))
        elif turn is not None:
            turn.output = state.transcript
            if e.status == "incomplete":  # what was said is kept and heard; the turn says why it stopped
                self.turns.tell(ev.Notice(message=cut_short, level="warning"), state.turn_id)
                why = f"response incomplete: {e.reason or 'no reason given'}"
                turn.closer = asyncio.ensure_future(self._close_when_heard(state, "incomplete", why))
            else:
                turn.closer = asyncio.ensure_future(self._close_when_heard(state))
        if self.responding.want_response:
            await self.request()

    async def _close_when_heard(self, state: ResponseState, status: str = "ok", error: str | None = None) -> None:
        if state.guard is not None and await state.guard.final(state.transcript):
            return
        if self.output is not None:
            await self.output.wait_heard()
        self.turns.finish(status, error=error)

    async def _run_tools(self, state: ResponseState) -> None:
        tell = self._teller(state)
        run = self.calls = CallRun(state.calls, self.tools.agent(self.agent).name, state.turn, tell)
        try:
            self.turns.announce()
            outcome = await self.tools.run(self.agent, state.calls, run.watch(tell))
            for call in state.calls:
                if call.call_id in run.cancelled:  # taken back by the model: no output, none sent
                    continue
                output = outcome.outputs.get(call.call_id, "error: no output")
                item_id = new_item_id()
                self.history.own_ids.add(item_id)
                entry = {"type": "function_call_output", "call_id": call.call_id, "output": output, "_id": item_id}
                self.history.add(entry)
                await self.link.soft(lambda m, i=item_id, x=entry: m.add_item(i, x))
            if outcome.handoff_to is not None:
                await self.switch_agent(outcome.handoff_to, state.turn_id)
        finally:
            if self.responding.tool_task is asyncio.current_task():
                self.responding.tool_task = None
            if self.calls is run:
                self.calls = None
        await self.request()

    async def calls_cancelled(self, e: FunctionCallsCancelled) -> None:
        """The model took back function calls (Gemini Live, when the user interrupts): the running ones
        show as cancelled and send nothing back; when none is left running, the calls' task is cancelled,
        their turn ends as interrupted, and an answer asked for meanwhile (a typed line) is asked now."""
        run, task = self.calls, self.responding.tool_task
        if run is None or task is None or not run.cancel(e.call_ids, run.tell or self.emit):
            return
        task.cancel()
        self.responding.tool_task, self.calls = None, None
        turn = self.turns.current
        if turn is not None and turn.index == run.turn:
            self.turns.finish("interrupted", interrupted=True)
        if self.responding.want_response:
            await self.request()

    async def switch_agent(self, key: str, turn_id: str | None = None) -> None:
        """Make `key` the session's agent (its instructions and tools; the voice stays)."""
        before = self.tools.agent(self.agent).name
        self.history.conversation.agent = key
        self.turns.tell(ev.Handoff(from_agent=before, to_agent=self.tools.agent(key).name), turn_id)
        await self.link.soft(lambda m: m.switch_agent(self.tools.agent(key), self.tools.schemas(key)))

    # --- cutting a response off -------------------------------------------------------------------------

    async def barge_in(self, *, local: bool, speech_at: float | None = None) -> None:
        """The user talks over the answer: silence it, cancel the response if the server will not, and
        truncate the item to what was heard (skipped when playback had already finished). `speech_at`:
        perf_counter when the server heard the speech that interrupts; then Interrupted waits (about an
        audio block) to say when the output went silent. Without it (a key press, a typed line) nothing
        waits: the user's input goes on at once."""
        wait = speech_at is not None
        speech_at = time.perf_counter() if speech_at is None else speech_at
        cut = self.output.cut() if self.output is not None else None
        state = self.responding.current
        if state is not None and not state.cancelled:
            state.cancelled = True
            if state.guard is not None:
                state.guard.cancel()
            if local or not self.server_cancels:
                await self.link.soft(lambda m: m.cancel_response())
        heard_text = ""
        if cut is not None:
            if not cut.stale:  # an item of a dropped connection is not on the server any more
                await self.link.soft(lambda m: m.truncate(cut.item_id, int(cut.heard_ms)))
            entry = self.history.by_id.get(cut.item_id)
            full = str(entry["content"]) if entry else ""
            heard_text = heard_part(full, cut.heard_ms, cut.received_ms)
            if entry is not None:
                entry["content"] = heard_text
                entry["_interrupted"] = True
                if cut.stale:  # replayed in full after a reconnect: the new server session gets the heard part
                    await rewrite_replayed(self.link, self.history, entry)
            sink = self.output.sink if self.output is not None else None
            silent = (await silenced(sink, speech_at)) if wait else silent_since(sink, speech_at)
            interrupted = ev.Interrupted(heard_ms=round(cut.heard_ms, 1), heard_text=heard_text, item_id=cut.item_id,
                                         speech_started=ev.from_perf(speech_at),
                                         silenced=ev.from_perf(silent) if silent is not None else None)
            self.turns.tell(interrupted, self.turns.current_id())  # the turn whose answer was cut
        if self.turns.current is not None and (cut is not None or state is not None):
            self.turns.current.output = heard_text
            self.turns.finish("interrupted", interrupted=True)

    async def drop_response(self, state: ResponseState) -> None:
        """Cancel a response made to input that was dropped (the assistant's own echo): silenced, out of
        the history and off the server, with no interruption (nobody interrupted it)."""
        state.cancelled = state.ignored = True
        if state.guard is not None:
            state.guard.cancel()
        output = self.output
        if output is not None and output.current is not None and output.current.response_id == state.id:
            output.cut()
        await self.link.soft(lambda m: m.cancel_response())
        entry = self.history.by_id.pop(state.item_id or "", None)
        if entry is not None:
            items = self.history.conversation.items
            if entry in items:
                items.remove(entry)
            self.history.own_ids.add(str(state.item_id))
            await self.link.soft(lambda m: m.delete_item(str(state.item_id)))

    async def _guard_tripped(self, state: ResponseState, name: str, verdict: Verdict) -> None:
        """An output guardrail tripped: stop the answer, take it out of the model's context, say why."""
        output = self.output
        if output is not None and output.current is not None and output.current.response_id == state.id:
            output.cut()
        if self.responding.current is state and not state.cancelled:
            state.cancelled = True
            await self.link.soft(lambda m: m.cancel_response())
        message = verdict.message or "the answer was withheld"
        entry = self.history.by_id.get(state.item_id or "")
        if entry is not None:
            entry["content"] = message
            entry["_guardrail"] = name
            await self.link.soft(lambda m: m.delete_item(str(state.item_id)))
        if self.turns.current is not None:
            self.turns.current.output = message
            self.turns.finish("guardrail", error=message)

    def dropped(self, why: str = DROPPED) -> bool:
        """The connection dropped: the response in flight is over (what arrived stays, marked), the calls
        still running stop (each ends as cancelled, `why`). True when it had not said or called anything
        yet (its question can be asked again)."""
        state, self.responding.current = self.responding.current, None
        silent = state is None or not (state.transcript or state.calls or state.first_delta)
        if state is not None:
            state.cancelled = True
            if state.guard is not None:
                state.guard.cancel()
            entry = self.history.by_id.get(state.item_id or "")
            if entry is not None:
                entry["_interrupted"] = True
        if self.output is not None:
            self.output.orphan()
        self.responding.create_pending = self.responding.want_response = False
        if self.responding.tool_task is not None:
            run = self.calls
            if run is not None:
                run.cancel(list(run.calls), run.tell or self.emit, why)
            self.responding.tool_task.cancel()
            self.responding.tool_task = None
            silent = False
        return silent

    def cancel_side_tasks(self) -> None:
        self.dropped(ENDED)
        turn = self.turns.current
        if turn is not None and turn.closer is not None:
            turn.closer.cancel()
