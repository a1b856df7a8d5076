"""The PulseAudio rig for the CLI tests that use audio (voice stdin, devices)."""

from tests.pulse import pulse_rig  # noqa: F401 - the fixture
