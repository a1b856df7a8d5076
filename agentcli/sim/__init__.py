"""agentcli.sim: the embedded OpenAI-compatible simulator (a real HTTP/websocket peer on loopback).

server.SimServer runs it; script.load_script reads its YAML script; planner.plan_reply decides what the
fake model says (shared by every protocol); responses_api, chat_api and audio_api speak the wire formats;
http and websocket are the transport; speech makes its voice. Nothing heavy is imported here.
"""
