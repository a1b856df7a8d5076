"""Realtime tests run on asyncio through anyio's pytest plugin; the PulseAudio rig comes from tests/pulse.py."""

from __future__ import annotations

import pytest

from tests.pulse import echo_path, pulse_rig  # noqa: F401 - the fixtures


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
