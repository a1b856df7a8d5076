"""Audio fixtures: generated speech (espeak-ng), the shared JFK recording, and the PulseAudio rig."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.pulse import echo_path, pulse_rig  # noqa: F401  (the fixtures, for tests in this folder)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """speech_wav("some words") -> a WAV of espeak-ng saying them (22050 Hz mono), cached per text."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("speech")
    made: dict[str, Path] = {}

    def make(text: str) -> Path:
        if text not in made:
            path = folder / f"s{len(made)}.wav"
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
            made[text] = path
        return made[text]

    return make


@pytest.fixture(scope="session")
def jfk_wav() -> Path:
    """11 s of real speech with crowd noise (see ../shared/data/README.md)."""
    path = SHARED_DATA / "jfk_16k.wav"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared test data is not beside this clone)")
    return path
