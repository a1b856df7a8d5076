"""Voice test fixtures: `async def` tests run in a fresh event loop (no pytest-asyncio needed), and the
PulseAudio virtual mic/speaker (`pulse_rig`) for the live end-to-end tests."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from tests.pulse import echo_path, pulse_rig  # noqa: F401 - the fixtures


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), timeout=30))
    return True
