"""Player.pause()/resume() at the callback level (no device: the callback is driven by hand): the block
that pauses fades out and hands out only a few ms, nothing is handed while paused, resume goes on from
the next sample with a fade in, and flush() ends a pause."""

from __future__ import annotations

import asyncio

import numpy as np

from agentcli.audio.player import _FADE_FRAMES, Player

BLOCK = 480  # 20 ms at 24 kHz


class _Stream:
    def start(self) -> None:
        pass

    def abort(self) -> None:
        pass


def player() -> Player:
    p = Player(rate=24000, prebuffer_ms=0)
    p._stream = _Stream()
    p._loop = asyncio.new_event_loop()
    return p


def block(p: Player) -> np.ndarray:
    out = np.zeros((BLOCK, 1), np.float32)
    p._callback(out, BLOCK, None, None)
    return out[:, 0]


def test_pause_fades_out_within_one_block_and_resume_goes_on_where_it_stopped() -> None:
    p = player()
    ramp = np.arange(BLOCK * 10, dtype=np.float32) / (BLOCK * 10)  # each sample tells its position
    utt = p.begin_utterance("a")
    p.write(ramp)
    first = block(p)
    assert np.allclose(first, ramp[:BLOCK])
    p.pause()
    assert p.output_paused
    faded = block(p)
    assert np.count_nonzero(faded) == _FADE_FRAMES - 1  # a few ms faded to zero, then silence
    assert faded[0] == ramp[BLOCK] and np.all(np.diff(faded[:_FADE_FRAMES]) < 0.001)
    handed = utt.handed
    assert p.last_paused_time is not None  # the block that went silent, for the barge-in bench
    assert handed == BLOCK + _FADE_FRAMES
    for _ in range(5):
        assert not block(p).any()  # paused: silence, nothing handed
    assert utt.handed == handed and not p.drained
    p.resume()
    assert not p.output_paused
    resumed = block(p)
    assert resumed[0] == 0.0 and resumed[_FADE_FRAMES - 1] == ramp[handed + _FADE_FRAMES - 1]
    assert np.allclose(resumed[_FADE_FRAMES:], ramp[handed + _FADE_FRAMES : handed + BLOCK])  # no sample lost
    p._loop.close()


def test_flush_ends_a_pause_and_audio_written_while_paused_waits() -> None:
    p = player()
    p.pause()
    p.write(np.ones(BLOCK * 2, np.float32) * 0.5)
    assert not block(p).any() and not block(p).any()  # held while paused
    p.flush()
    assert not p.output_paused
    p.write(np.ones(BLOCK, np.float32) * 0.5)
    assert np.allclose(block(p), 0.5)
    p._loop.close()
