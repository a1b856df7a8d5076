"""Run a Python script or `-m module` under pyinstrument and save its text profile (for the slow paths).

    python bench/peers/profiled.py OUT.txt [--interval S] script.py ARGS...
    python bench/peers/profiled.py OUT.txt -m agentcli chat --sim -m hi

The profiled code runs in THIS interpreter with its own packages (agentcli's environment); only
pyinstrument comes from bench/.venv-peers, appended at the END of sys.path so it can shadow nothing.
"""

from __future__ import annotations

import glob
import runpy
import sys
from pathlib import Path
from typing import Any

VENV = Path(__file__).resolve().parent.parent / ".venv-peers"


def make_profiler(interval: float = 0.0005) -> Any:
    """A pyinstrument Profiler borrowed from bench/.venv-peers (appended to sys.path: it shadows nothing)."""
    sys.path.extend(glob.glob(str(VENV / "lib" / "python*" / "site-packages")))
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit(f"pyinstrument is not in {VENV}: run bench/run.py once (it installs the peers)") from None
    return Profiler(interval=interval, async_mode="enabled")


def save(profiler: Any, out: Path, flat_lines: int = 40) -> None:
    """The call tree (library internals folded), then the functions with the most time of their own."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tree = profiler.output_text(unicode=False, color=False, show_all=False)
    flat = profiler.output_text(unicode=False, color=False, flat=True, time="percent_of_total")
    head = [line for line in flat.splitlines() if line.strip()][: flat_lines + 5]
    title = "Functions by own time (all frames, library internals included):"
    out.write_text(f"{tree}\n\n{title}\n" + "\n".join(head) + "\n")


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out = Path(sys.argv[1])
    rest = sys.argv[2:]
    interval = 0.0005
    if rest[0] == "--interval":
        interval, rest = float(rest[1]), rest[2:]
    profiler = make_profiler(interval)
    code = 0
    profiler.start()
    try:
        if rest[0] == "-m":
            sys.argv = [rest[1], *rest[2:]]
            runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = rest
            sys.path.insert(0, str(Path(rest[0]).resolve().parent))
            runpy.run_path(rest[0], run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        profiler.stop()
        save(profiler, out)
    sys.exit(code)


if __name__ == "__main__":
    main()
