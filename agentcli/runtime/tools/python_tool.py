"""`python: module:function` tools: sync functions run in a daemon thread, async ones are awaited.

Daemon threads, not asyncio's default executor: the executor's threads are joined when the loop and the
interpreter shut down, so a tool abandoned at its `timeout:` (or on Ctrl-C) would hold the exit until it
returned by itself. An abandoned daemon thread is simply left behind. The threads are kept for the next
call (starting one per call was a measurable part of a turn); a hung one is never handed another call.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import queue
import threading
from collections.abc import Callable
from typing import Any

from agentcli.errors import ToolError
from agentcli.runtime.imports import import_ref
from agentcli.runtime.schema_check import validate
from agentcli.runtime.tools.base import Tool, ToolFailed
from agentcli.runtime.tools.signature import function_schema


def stringify(value: Any) -> str:
    """A tool's return value as text for the model: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class DaemonWorkers:
    """Daemon threads that run one call at a time and then wait for the next: a call goes to an idle
    thread, or to a new one when all are busy (a tool that hangs keeps its thread, and only that one).
    A thread idle for `idle_s` ends."""

    def __init__(self, name: str = "agent-tool", idle_s: float = 60.0) -> None:
        self._name, self._idle_s = name, idle_s
        # a job returns what hands its result over, run once the thread counts as free again: the caller
        # that wakes on the result and calls again then finds this thread, not a new one
        self._jobs: queue.SimpleQueue[Callable[[], Callable[[], None]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads free for a job minus the jobs queued for them
        self.threads = 0  # alive, busy or idle (for tests)

    def submit(self, job: Callable[[], Callable[[], None]]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if spawn:
                self.threads += 1
            else:
                self._idle -= 1
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody counts on this thread: it may go
                        self._idle -= 1
                        self.threads -= 1
                        return
                continue  # a job was queued for it meanwhile
            deliver = job()
            del job  # the finished call's frame and result are not kept alive while idle
            with self._lock:
                self._idle += 1
            deliver()
            del deliver


_workers = DaemonWorkers()


async def run_in_daemon_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a daemon thread, awaited; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if future.done():  # abandoned: timed out or cancelled
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def work() -> Callable[[], None]:
        try:
            result, ok = context.run(fn, *args, **kwargs), True
        except BaseException as e:  # handed to the awaiting task, which decides what it means
            result, ok = e, False

        def deliver() -> None:
            try:
                loop.call_soon_threadsafe(settle, ok, result)
            except RuntimeError:  # the loop is closed: nobody waits for this result any more
                pass

        return deliver

    _workers.submit(work)
    return await future


class PythonFunctionTool(Tool):
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        approve: bool = False,
        timeout: float | None = None,
    ):
        self.fn = fn
        doc_description, self.parameters = function_schema(fn)
        self.name = name or fn.__name__
        self.description = description or doc_description or f"Run {self.name}."
        self.approve = approve
        self.timeout = timeout

    @classmethod
    def from_ref(
        cls,
        ref: str,
        base_dir: str,
        *,
        name: str | None = None,
        description: str | None = None,
        approve: bool = False,
        timeout: float | None = None,
    ) -> PythonFunctionTool:
        """Import the function now so a bad path fails when the Runner is built, not mid-chat."""
        try:
            fn = import_ref(ref, base_dir)
        except (ImportError, AttributeError, TypeError) as e:
            raise ToolError(f"tool {ref}: {e}") from None
        try:
            return cls(fn, name=name, description=description, approve=approve, timeout=timeout)
        except (TypeError, ValueError) as e:  # e.g. a builtin without an inspectable signature
            raise ToolError(f"tool {ref}: cannot read its signature: {e}") from None

    async def run(self, arguments: dict[str, Any]) -> str:
        problems = validate(arguments, self.parameters)
        if problems:
            raise ToolFailed("invalid arguments: " + "; ".join(problems))
        if inspect.iscoroutinefunction(self.fn):
            result = await self.fn(**arguments)
        else:
            result = await run_in_daemon_thread(self.fn, **arguments)
            if inspect.isawaitable(result):  # a sync wrapper that returned a coroutine
                result = await result
        return stringify(result)
