"""Simulator test helpers: a client factory, a raw POST and an SSE reader."""

from __future__ import annotations

import json
from typing import Any


def client_for(sim: Any, max_retries: int = 0, api_key: str = "sim") -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=sim.base_url, api_key=api_key, max_retries=max_retries, timeout=10)


def parse_sse(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) for each SSE event in a body."""
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


async def post_raw(sim: Any, path: str, body: dict[str, Any], key: str = "sim") -> Any:
    import httpx2

    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(
            f"{sim.base_url}{path}",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
