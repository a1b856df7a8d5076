"""Realtime tests run on asyncio through anyio's pytest plugin; the PulseAudio rig comes from tests/pulse.py,
the end-to-end tests' wire log and spoken question from tests/realtime/e2e.py."""

from __future__ import annotations

import pytest

from tests.pulse import echo_path, pulse_rig  # noqa: F401 - the fixtures
from tests.realtime.e2e import question_wav, wire_log  # noqa: F401 - the fixtures


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
