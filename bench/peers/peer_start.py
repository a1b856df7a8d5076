"""Peer: the start of a script built on openai-agents (what a user runs instead of `agent`): import it,
define an agent, exit. Timed from spawn to exit by bench/run.py, against `agent --help`."""

from agents import Agent, Runner

agent = Agent(name="assistant", instructions="You answer briefly.")
assert Runner is not None
