"""`agent voice --record [DIR]`: a session's audio, text and timings saved into DIR/<session>/.

One design for both voice modes. A recording is an event consumer added with the run's `add_consumer`:
turn data (the user's words, the answer, the status, what was heard of an interrupted answer, the latency
marks) comes only from the events of agentcli/events.py; audio only from taps the driver hands it.

- `base.py`: the folder (0700, a resumed session gets `<session>-2`), turns.json (0600, rewritten
  atomically, secrets redacted), each answer's WAV (an interrupted one cut to the part heard), and the
  rule that a recording that cannot be written stops while the conversation goes on;
- `cascade.py`: `agent voice` (STT, agent, TTS): per turn turn-NNN-user.wav (the audio sent to STT)
  and turn-NNN-assistant.wav (what the speaker was given to play);
- `realtime.py`: `agent voice --realtime`: one continuous user.wav (the audio sent to the server) and
  turn-NNN-assistant.wav per answer.

Only audio, text and timings are written: never a key, a URL with credentials, or the environment.
"""
