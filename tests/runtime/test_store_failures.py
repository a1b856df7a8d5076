"""An unusable store ends a run with one line on stderr and exit 1, never a traceback; unusable tracing only
costs the trace. Read-only and full filesystems are real: a small tmpfs in a private mount namespace."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, agent_env


def chat(home: Path, message: str = "hi", *, session: str | None = "s", prefix: list[str] | None = None,
         **env: str) -> subprocess.CompletedProcess[str]:
    named = ["--session", session] if session else []  # without: a new conversation, its store checked in a thread
    cmd = [*(prefix or []), sys.executable, "-m", "agentcli", "chat", "--sim", *named, "-m", message]
    return subprocess.run(cmd, cwd=ROOT, env=agent_env(AGENT_HOME=str(home), **env), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith("agent: error: cannot use the"), line
    for word in words:
        assert word in line, line
    return line


def test_agent_home_a_regular_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    one_line_error(chat(home), str(home), "it is a file, not a folder")
    assert home.read_text() == "not a folder"


@pytest.mark.parametrize("session", ["s", None])
def test_sessions_db_a_folder(tmp_path: Path, session: str | None) -> None:
    (tmp_path / "sessions.db").mkdir()
    one_line_error(chat(tmp_path, session=session), "sessions.db", "it is a folder")


def test_a_foreign_and_a_corrupt_sessions_db_are_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER, email TEXT)")
        conn.execute("INSERT INTO users VALUES (1, 'a@b.c')")
    conn.close()
    one_line_error(chat(tmp_path), "another program's tables")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("a@b.c",)]
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == {"users"}
    conn.close()
    db.unlink()
    junk = os.urandom(4096)
    db.write_bytes(junk)
    one_line_error(chat(tmp_path), "corrupt")
    assert db.read_bytes() == junk


def _without_root_powers() -> list[str]:
    """A prefix under which file permissions apply (root normally ignores them)."""
    if os.geteuid() != 0:
        return []
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root's file-permission override"
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_read_only_home_and_a_home_under_a_read_only_parent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert chat(home, "first").returncode == 0
    home.chmod(0o500)
    try:
        one_line_error(chat(home, "second", prefix=_without_root_powers()), "sessions.db", "read-only")
        one_line_error(chat(home, "new", session=None, prefix=_without_root_powers()), "sessions.db", "read-only")
    finally:
        home.chmod(0o700)
    stored = SessionStore(home / "sessions.db").load("s")
    assert stored is not None and [i["content"] for i in stored.items] == ["first", "You said: first"]
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    one_line_error(chat(parent / "home", prefix=_without_root_powers()), "AGENT_HOME", "permission denied")


def test_tracing_unusable_still_answers_and_says_so_once(tmp_path: Path) -> None:
    (tmp_path / "traces.db").mkdir()
    proc = chat(tmp_path, "still here")
    assert proc.returncode == 0 and proc.stdout.strip() == "You said: still here"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "tracing stopped for this run" in lines[0] and "it is a folder" in lines[0]
    stored = SessionStore(tmp_path / "sessions.db").load("s")
    assert stored is not None and stored.turns == 1


def test_a_run_trace_is_capped_with_a_notice(tmp_path: Path) -> None:
    proc = chat(tmp_path, "x" * 5000, AGENT_TRACE_MAX_BYTES="3000")
    assert proc.returncode == 0 and proc.stdout.strip() == "You said: " + "x" * 5000
    assert proc.stderr.count("size cap") == 1, proc.stderr
    with sqlite3.connect(tmp_path / "traces.db") as conn:
        (meta, status), = conn.execute("SELECT metadata, status FROM traces").fetchall()
        stored = sum(len(d) for d, in conn.execute("SELECT data FROM spans"))
    conn.close()
    assert "truncated" in json.loads(meta) and status == "ok" and stored <= 3000
    uncapped = chat(tmp_path, "x" * 5000, session="t")
    assert "size cap" not in uncapped.stderr


def _in_private_mount(script: str, mnt: Path, home: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Run a bash script in a mount namespace of its own (tmpfs mounts vanish with it)."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed for the filesystem tests"
    flags = "-m" if os.geteuid() == 0 else "-rm"  # not root: a user namespace may mount a tmpfs
    env = agent_env(AGENT_HOME=str(home), PY=sys.executable, MNT=str(mnt), OUT=str(out), PYTHONPATH=str(ROOT))
    return subprocess.run([unshare, flags, "bash", "-c", "set -u\n" + script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_read_only_filesystem_and_full_disk_one_line_and_nothing_lost(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    home = mnt / "home"
    out = tmp_path / "out"
    out.mkdir()
    script = """
    chat() { "$PY" -m agentcli chat --sim --session "$1" -m "$2" >"$OUT/$3.out" 2>"$OUT/$3.err"
             echo $? >"$OUT/$3.rc"; }
    mount -t tmpfs -o size=1m tmpfs "$MNT"
    chat s first ok1
    mount -o remount,ro "$MNT"
    chat s second ro
    AGENT_HOME="$MNT/other" chat s second rohome
    mount -o remount,rw "$MNT"
    head -c 2000000 /dev/zero >"$MNT/fill" 2>/dev/null
    chat s third full
    chat new third fullnew
    "$PY" -m agentcli chat --sim -m third >"$OUT/fullauto.out" 2>"$OUT/fullauto.err"; echo $? >"$OUT/fullauto.rc"
    rm "$MNT/fill"
    chat s fourth ok2
    "$PY" -c "
import sqlite3, json
c = sqlite3.connect('$AGENT_HOME/sessions.db')
print(json.dumps([c.execute('PRAGMA integrity_check').fetchone()[0],
                  [json.loads(b)['content'] for b, in c.execute('SELECT body FROM session_items ORDER BY row')]]))
" >"$OUT/check.json"
    """
    proc = _in_private_mount(script, mnt, home, out)
    assert proc.returncode == 0, proc.stderr

    def result(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], int((out / f"{name}.rc").read_text()),
                                           (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text())

    assert result("ok1").returncode == 0
    one_line_error(result("ro"), "sessions.db", "read-only")
    one_line_error(result("rohome"), "AGENT_HOME", "read-only filesystem")
    one_line_error(result("full"), "disk full")
    one_line_error(result("fullnew"), "disk full")
    one_line_error(result("fullauto"), "disk full")
    assert result("ok2").returncode == 0 and result("ok2").stdout.strip() == "You said: fourth"
    integrity, contents = json.loads((out / "check.json").read_text())
    assert integrity == "ok"
    assert contents == ["first", "You said: first", "fourth", "You said: fourth"]


def test_a_corrupt_trace_store_is_one_line_for_trace_commands_and_one_notice_for_chat(tmp_path: Path) -> None:
    junk = os.urandom(3000)
    (tmp_path / "traces.db").write_bytes(junk)
    proc = subprocess.run([sys.executable, "-m", "agentcli", "trace", "list"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=agent_env(AGENT_HOME=str(tmp_path)))
    one_line_error(proc, "traces.db", "corrupt")
    answered = chat(tmp_path, "still")
    assert answered.returncode == 0 and answered.stdout.strip() == "You said: still"
    assert answered.stderr.count("\n") == 1 and "tracing stopped" in answered.stderr
    assert (tmp_path / "traces.db").read_bytes() == junk
