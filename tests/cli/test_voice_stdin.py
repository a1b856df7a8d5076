"""Voice with stdin empty from the start (`< /dev/null`, nohup, a service manager) keeps listening to the
microphone until Ctrl-C or SIGTERM; with piped lines it ends after their answers, and says so."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_agent
from tests.pulse import PulseRig

LISTENING = "nothing on stdin: listening to the microphone until Ctrl-C"


def _wait_for(proc: subprocess.Popen[bytes], text: str, timeout: float = 60) -> str:
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        assert proc.poll() is None, f"exited {proc.returncode} before saying {text!r}: {seen.decode()}"
        assert time.monotonic() < deadline, f"did not say {text!r}: {seen.decode()}"
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            seen += os.read(proc.stderr.fileno(), 65536)
    return seen.decode()


@pytest.mark.audio
@pytest.mark.parametrize("mode", [["--vad"], ["--realtime"]])
def test_stdin_at_eof_from_the_start_keeps_listening_until_sigterm(pulse_rig: PulseRig, mode: list[str]):
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "voice", "--sim", *mode, "--session", "mic"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT),
                            start_new_session=True)
    try:
        _wait_for(proc, LISTENING)
        assert proc.poll() is None  # still listening after its input ended
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _piped(*mode: str) -> None:
    r = run_agent("voice", "--sim", *mode, input="hello there\n", timeout=90)
    assert r.returncode == 0, r.stderr
    assert "hello there" in r.stdout
    assert "end of the piped input" in r.stderr
    assert LISTENING not in r.stderr


@pytest.mark.audio
def test_piped_lines_end_a_hands_free_session_after_their_answers_and_say_so(pulse_rig: PulseRig):
    _piped("--vad")


@pytest.mark.e2e
def test_piped_lines_end_a_realtime_session_after_their_answers_and_say_so():
    # text only: no microphone (with one, the session also answers whatever the simulator hears there)
    _piped("--realtime", "--text-only")
    r = run_agent("voice", "--sim", "--realtime", "--text-only", input="")  # no microphone: nothing to wait for
    assert r.returncode == 0 and LISTENING not in r.stderr
