"""Invalid UTF-8 on stdin or in `-m` becomes U+FFFD with one notice (issue 12)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from agentcli.input_text import NOTICE, read_stdin_text, repair, repaired


def test_repair_turns_escaped_bytes_into_replacement_characters() -> None:
    assert repair("ok ✓") == ("ok ✓", False)
    assert repair("hi \udcff there") == ("hi \ufffd there", True)
    # "é" is C3 A9; a stray byte between keeps what can be decoded
    assert repair("caf\udcc3\udca9 \udcfe") == ("café \ufffd", True)
    assert repair("lone \ud800 surrogate") == ("lone \ufffd surrogate", True)
    fixed, _ = repair("\udcff\udcfe" * 3)
    fixed.encode("utf-8")  # encodable now: this raised UnicodeEncodeError in the model call


def test_repaired_prints_one_notice_only_when_needed() -> None:
    err = io.StringIO()
    assert repaired("fine", err=err) == "fine" and err.getvalue() == ""
    assert repaired(None, err=err) is None
    assert repaired("bad \udcff", err=err) == "bad \ufffd"
    assert err.getvalue() == NOTICE + "\n"


def test_read_stdin_text_from_bytes() -> None:
    err = io.StringIO()
    good = io.TextIOWrapper(io.BytesIO("héllo\n".encode()), encoding="utf-8")
    assert read_stdin_text(good, err=err) == "héllo\n" and err.getvalue() == ""
    bad = io.TextIOWrapper(io.BytesIO(b"caf\xc3 \xff\n"), encoding="utf-8", errors="strict")
    assert read_stdin_text(bad, err=err) == "caf\ufffd \ufffd\n"
    assert err.getvalue() == NOTICE + "\n"
    assert read_stdin_text(io.StringIO("text only \udcff"), err=io.StringIO()) == "text only \ufffd"


def test_real_stdin_under_a_strict_locale() -> None:
    code = "import sys; from agentcli.input_text import read_stdin_text; print(ascii(read_stdin_text()))"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}  # sys.stdin.read() would raise here
    done = subprocess.run([sys.executable, "-c", code], input=b"a\xffb", capture_output=True, env=env, cwd=root)
    assert done.stdout.decode().strip() == "'a\\ufffdb'"
    assert done.stderr.decode().strip() == NOTICE


def test_agent_chat_with_invalid_utf8_in_stdin_and_in_the_message() -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable.encode(), b"-m", b"agentcli", b"chat", b"--sim", b"-m", b"and caf\xe9"],
                       input=b"piped \xff\xfe bytes\n", capture_output=True, cwd=str(ROOT), env=dict(os.environ),
                       timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "piped \ufffd\ufffd bytes" in out and "and caf\ufffd" in out  # answered, with replacement characters
    assert b"Traceback" not in r.stderr and r.stderr.decode().lower().count("utf-8") == 2  # a notice per input
