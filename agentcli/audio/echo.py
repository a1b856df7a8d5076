"""Echo guard: while the assistant talks, its own voice leaks from the speaker into the microphone.

An energy gate, not an echo canceller. A mic block counts as the user speaking only if it is `ratio` times
louder (RMS) than the echo we expect: the playback's energy (`Player.energy`, the loudest block over the
output latency) scaled by the *coupling*, how loud the speaker is in the mic per unit of playback.
The coupling is learned while the assistant talks and the mic hears only its echo: it falls fast when the
mic is quieter than expected and rises slowly, so a user talking over the answer (which stops it within a
few blocks) is not learned as echo, while a speaker turned up is, within a few hundred milliseconds.
It starts at 1 (the mic as loud as the playback: the safe assumption until the first blocks are heard),
so on a laptop whose speaker is a metre from the mic the guard soon lets a normal voice through, while on
a loud speaker right by the mic it keeps blocking the echo.
With headphones there is no leak and the guard always lets speech through.
The echo canceller proper is the front end (audio/frontend.py, WebRTC AEC3 from the pywebrtc-audio
wheel); this guard is what is left where that wheel is missing, and a second line behind it on the
cleaned signal (where it soon learns that the echo is 40 dB down and lets a normal voice through).
"""

from __future__ import annotations

import numpy as np

from agentcli.audio.resample import rms

_QUIET = 1e-4  # playback RMS below this (-80 dBFS) is silence: nothing to guard against
_MIN_COUPLING = 0.01  # -40 dB: below this a dead-silent mic would let any click through
_FALL = 0.5  # weight of a lower observation (learn a quieter echo within a few blocks)
_RISE = 0.02  # weight of a higher one (a louder echo, e.g. volume turned up, is learned slowly)


class EchoGuard:
    """`allows(mic_block, playback_energy)` -> whether the block may count as user speech."""

    def __init__(self, ratio: float = 3.0, headphones: bool = False, coupling: float = 1.0):
        if ratio < 1.0:
            raise ValueError(f"echo ratio must be >= 1, got {ratio}")
        self.ratio = ratio
        self.headphones = headphones
        self.coupling = max(_MIN_COUPLING, min(1.0, coupling))
        self.blocked_blocks = 0  # how many mic blocks were held back as echo

    def allows(self, mic_block: np.ndarray, playback_energy: float) -> bool:
        if self.headphones or playback_energy < _QUIET:
            return True
        level = rms(mic_block)
        observed = level / playback_energy
        if level > self.ratio * self.coupling * playback_energy:
            # The user, or a louder echo (volume turned up): learned only slowly, and a real barge-in
            # stops the playback within a few blocks, so talking over the answer barely moves it.
            self._learn(observed, fall_fast=False)
            return True
        self._learn(observed, fall_fast=True)
        self.blocked_blocks += 1
        return False

    def _learn(self, observed: float, fall_fast: bool) -> None:
        weight = _FALL if (fall_fast and observed < self.coupling) else _RISE
        coupling = (1 - weight) * self.coupling + weight * observed
        self.coupling = max(_MIN_COUPLING, min(1.0, coupling))
