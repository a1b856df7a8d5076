"""Echo guard: while the assistant talks, its own voice leaks from the speaker into the microphone.

An energy gate, not an echo canceller: a mic block counts as the user speaking only if it is `ratio`
times louder (RMS) than what the player is playing (`Player.energy`, the loudest block over the output
latency). With headphones there is no leak and the guard always lets speech through.
(No maintained wheel-only acoustic echo canceller was found on PyPI; the speexdsp/webrtc bindings there
are unmaintained or ship no wheels.)
"""

from __future__ import annotations

import numpy as np

from agentcli.audio.resample import rms

_QUIET = 1e-4  # playback RMS below this (-80 dBFS) is silence: nothing to guard against


class EchoGuard:
    """`allows(mic_block, playback_energy)` -> whether the block may count as user speech."""

    def __init__(self, ratio: float = 3.0, headphones: bool = False):
        if ratio < 1.0:
            raise ValueError(f"echo ratio must be >= 1, got {ratio}")
        self.ratio = ratio
        self.headphones = headphones
        self.blocked_blocks = 0  # how many mic blocks were held back as echo

    def allows(self, mic_block: np.ndarray, playback_energy: float) -> bool:
        if self.headphones or playback_energy < _QUIET:
            return True
        if rms(mic_block) > self.ratio * playback_energy:
            return True
        self.blocked_blocks += 1
        return False
