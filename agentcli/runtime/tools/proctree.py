"""End every process a shell tool started, including ones that left its process group with `setsid`.

A process group kill misses a descendant that started its own session, and once its parent exits it is
re-parented away from us, so the parent chain cannot find it either. Each run therefore marks its
environment with a unique value that descendants inherit; on Linux, /proc gives each process's parent
and environment, and a run's tree is the marked processes plus everything below the command or them.
Elsewhere (no /proc) only the process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid

MARKER = "AGENTCLI_TOOL_RUN"
_ROUNDS = 5  # re-scan after killing: a process may have forked between the scan and the kill


def new_run_env() -> tuple[str, dict[str, str]]:
    """(run id, environment for the command): the current environment plus the run's marker."""
    run_id = uuid.uuid4().hex
    return run_id, {**os.environ, MARKER: run_id}


def _scan() -> tuple[dict[int, int], dict[int, bytes]]:
    """(pid -> parent pid, pid -> raw environ) of the live (non-zombie) processes we may read."""
    parents: dict[int, int] = {}
    environs: dict[int, bytes] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()  # the name may hold spaces and ")"
            if fields[0] in (b"Z", b"X"):
                continue  # already dead, waiting to be reaped
            parents[pid] = int(fields[1])
            with open(f"/proc/{pid}/environ", "rb") as f:
                environs[pid] = f.read()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return parents, environs


def run_tree(root: int, run_id: str) -> set[int]:
    """Live processes of one run: the command, its descendants, and every process carrying the marker."""
    parents, environs = _scan()
    needle = f"{MARKER}={run_id}".encode()
    tops = {root} | {pid for pid, env in environs.items() if needle in env.split(b"\0")}
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid in tops if pid in parents]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    found.discard(os.getpid())
    return found


def kill_run(root: int, run_id: str) -> None:
    """SIGKILL the command's process group and every process of its run."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(root, signal.SIGKILL)
    if not os.path.isdir("/proc/self"):
        return
    for _ in range(_ROUNDS):
        pids = run_tree(root, run_id)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
