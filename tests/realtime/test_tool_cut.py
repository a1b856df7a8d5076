"""A realtime session that ends (or whose connection drops) while a tool runs: the calls' task is
cancelled, and the call ends with one ToolCallFinished(cancelled=True) saying why. Against the simulator."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from agentcli import events as ev
from agentcli.realtime.session import SessionOptions
from agentcli.realtime.tools import ENDED
from tests.realtime.harness import harness
from tests.realtime.test_typed_over_tool import SCRIPT
from tests.turn_ids import check_calls_finished

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


async def test_the_session_ending_while_a_tool_runs_ends_the_call_as_cancelled(tmp_path: Path) -> None:
    async with harness(tmp_path, SCRIPT, spec="gated.yaml", options=SessionOptions(text_only=True), sink=None) as h:
        sys.modules["rt_tools"].GATE[:] = [asyncio.Event()]  # never set: the call runs until the end
        await h.session.send_text("search the archive")
        await h.wait_for(lambda: h.of(ev.ToolCallStarted))
    check_calls_finished(h.events)
    [finished] = h.of(ev.ToolCallFinished)
    assert (finished.cancelled, finished.error, finished.turn_id) == (True, ENDED, "1")
