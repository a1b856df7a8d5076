"""The daemon threads under python tools (python_tool.DaemonWorkers): kept for the next call, one per call
running at once, a hung call keeps its thread and only that one, idle threads end. (That a hung tool does
not hold the process's exit: test_tools.test_a_timed_out_python_tool_does_not_hold_the_exit.)"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agentcli.runtime.tools import python_tool
from agentcli.runtime.tools.python_tool import DaemonWorkers, PythonFunctionTool, run_in_daemon_thread

_local = threading.local()


def _call_on_this_thread() -> tuple[int, bool]:
    """How many calls this thread has run (a new thread starts at 1), and whether it is a daemon."""
    _local.calls = getattr(_local, "calls", 0) + 1
    return _local.calls, threading.current_thread().daemon


def test_calls_one_after_another_reuse_one_daemon_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_tool, "_workers", DaemonWorkers())  # no threads left by other tests

    async def main() -> list[tuple[int, bool]]:
        return [await run_in_daemon_thread(_call_on_this_thread) for _ in range(5)]

    assert asyncio.run(main()) == [(1, True), (2, True), (3, True), (4, True), (5, True)]


def test_calls_at_once_each_get_a_thread() -> None:
    barrier = threading.Barrier(3, timeout=30)  # would break (timeout) if the calls ran one after another

    def meet() -> int:
        barrier.wait()
        return threading.get_ident()

    async def main() -> list[int]:
        return list(await asyncio.gather(*(run_in_daemon_thread(meet) for _ in range(3))))

    assert len(set(asyncio.run(main()))) == 3


def test_a_hung_call_keeps_its_thread_and_the_next_calls_run_elsewhere() -> None:
    release = threading.Event()
    hung: list[int] = []

    def hang() -> str:
        hung.append(threading.get_ident())
        release.wait(60)
        return "late"

    tool = PythonFunctionTool(hang, timeout=0.1)

    async def main() -> list[int]:
        try:
            await asyncio.wait_for(tool.run({}), tool.timeout)
        except TimeoutError:
            pass
        return [await run_in_daemon_thread(threading.get_ident) for _ in range(3)]

    try:
        later = asyncio.run(main())
    finally:
        release.set()
    assert len(hung) == 1 and hung[0] not in later


def test_an_abandoned_call_finishing_later_is_ignored_and_its_thread_returns() -> None:
    release = threading.Event()
    workers = DaemonWorkers(idle_s=30)
    ran: list[str] = []

    # a job returns what hands its result over, which runs once its thread counts as free again
    workers.submit(lambda: (release.wait(30), lambda: ran.append("slow"))[1])
    done = threading.Event()
    workers.submit(lambda: (ran.append("quick"), done.set)[1])
    assert done.wait(30)
    assert workers.threads == 2  # the quick call did not wait behind the blocked one
    release.set()
    deadline = time.monotonic() + 30
    while ran != ["quick", "slow"] and time.monotonic() < deadline:
        time.sleep(0.01)
    again = threading.Event()
    workers.submit(lambda: again.set)
    assert again.wait(30) and workers.threads == 2  # an idle thread took it: none was started


def test_idle_threads_end() -> None:
    workers = DaemonWorkers(idle_s=0.05)
    done = threading.Event()
    workers.submit(lambda: done.set)
    assert done.wait(30)
    deadline = time.monotonic() + 30
    while workers.threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers.threads == 0
    later = threading.Event()
    workers.submit(lambda: later.set)  # and a call after that starts one again
    assert later.wait(30)
