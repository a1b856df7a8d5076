"""The run layer: what every mode (chat, voice, realtime) shares around its driver — the conversation
store, the model endpoint or simulator, tracing, the fan-out of events to consumers, approvals, the
session's start and end, and a clean shutdown. The CLI calls it; it never imports the CLI."""
