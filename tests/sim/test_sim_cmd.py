"""`agent sim serve`: prints the base URL, serves real clients, stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentcli.cli.sim_cmd import app
from agentcli.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_serve() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "simulator" in result.output


def test_bad_script_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("turns: [{match: '(', reply: [x]}]")
    result = CliRunner().invoke(app, ["serve", "--script", str(bad)])
    assert isinstance(result.exception, UsageError)
    assert result.exception.exit_code == 2 and "bad regex" in str(result.exception)


def _post(base_url: str, path: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer sim", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    with opener.open(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.e2e
def test_serve_subprocess_prints_url_serves_and_exits_0_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("turns: [{match: ping, reply: [{text: pong}]}]\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcli", "sim", "serve", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert proc.stderr.readline().strip() == f"export OPENAI_BASE_URL={base_url}"
        reply = _post(base_url, "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "ping"}]})
        assert reply["choices"][0]["message"]["content"] == "pong"  # type: ignore[index]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.e2e
def test_serve_subprocess_bad_script_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults: [{times: 1}]")
    result = subprocess.run(
        [sys.executable, "-m", "agentcli", "sim", "serve", "--script", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "faults[0]: give status" in lines[0]
    assert result.stdout == ""


@pytest.mark.e2e
def test_the_official_sdk_as_a_third_party_client(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("hear: [what a day]\nturns: [{match: ping, reply: [{text: pong}]}]\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcli", "sim", "serve", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        # a separate process that imports nothing of agentcli, run from outside the repository
        client = subprocess.run([sys.executable, str(ROOT / "tests" / "sim" / "sdk_script.py"), base_url],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert client.returncode == 0, client.stderr
        lines = client.stdout.splitlines()
        assert lines[0].startswith("models: ") and lines[1].endswith("bytes of mp3")
        assert lines[2] == "verbose_json: 'what a day', 1 segment, 3 words" and lines[3] == "responses: pong, stored"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
