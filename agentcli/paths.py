"""Where agentcli keeps its state: sessions and traces live under one home."""

from __future__ import annotations

import os
from pathlib import Path


def agent_home() -> Path:
    """`$AGENT_HOME`, else the platform's user data dir; created on first use (mode 0700).
    Raises StoreError (one line: which folder, and why) when it cannot be a folder."""
    from agentcli.storage.files import private_dir

    env = os.environ.get("AGENT_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        home = Path(user_data_dir("agentcli", appauthor=False))
    return private_dir(home, "AGENT_HOME folder" if env else "state folder")
