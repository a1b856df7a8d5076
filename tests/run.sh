#!/usr/bin/env bash
# The whole test suite on a fresh Debian-like machine: installs what the tests need (audio and speech
# packages, this package with its dev extra), then runs pytest. The PulseAudio daemon and its virtual
# microphone/speaker are started by the test fixtures themselves (tests/pulse.py).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]} (audio tests will skip); install them as root" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "Running pip as the 'root' user" || true
python3 -m pip show agentcli >/dev/null
python3 -m ruff check --quiet agentcli tests bench
# The reference MCP server the tests run, pinned by tests/mcp/package-lock.json: installed here, never
# fetched at test time (no `npx -y`).
if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing: nodejs npm" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if command -v npm >/dev/null; then
  npm ci --prefix tests/mcp --no-audit --no-fund --loglevel=error
else
  echo "warning: npm is missing: the MCP tests that use server-filesystem will fail" >&2
fi
# The audio rig must work here: its tests fail rather than skip (tests/pulse.py).
export AGENT_TEST_REQUIRE_AUDIO=1
exec python3 -m pytest -q "$@"
