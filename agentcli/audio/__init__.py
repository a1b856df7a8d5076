"""agentcli.audio: microphone, speaker, WAV files, resampling and turn detection.

Import the submodules you need (this package imports nothing heavy itself):

- devices:  list_devices(), resolve_device(spec, "input"|"output") -> DeviceInfo; AudioError when
            PortAudio or a device is missing.
- recorder: Recorder(device, rate=16000) / FileSource(path, rate) -> `async for block in source`
            (mono float32 blocks), .level (dBFS), .dropped_blocks.
- player:   Player(device, rate=24000) -> begin_utterance() -> Utterance (.heard_ms, .first_sample_time),
            write(pcm), end_utterance(), flush() -> ms dropped, await wait_drained(), .energy.
- sink:     FileSink(path, rate) with the Player's interface; AudioSink / Utterance types.
- vad:      TurnDetector(VadSettings, rate).feed(block) -> [SpeechStart | SpeechEnd | Discarded].
- echo:     EchoGuard(ratio, headphones).allows(mic_block, player.energy).
- wavfile:  read_wav(path, rate), write_wav(path, samples, rate), WavWriter.
- resample: Resampler(in_rate, out_rate), resample(), to_mono(), float/PCM16 conversions.

A hands-free loop, in short:

    async with Recorder() as mic, Player() as speaker:
        vad, guard = TurnDetector(settings), EchoGuard(settings.echo_ratio)
        async for block in mic:
            for event in vad.feed(block, allow_speech=guard.allows(block, speaker.energy)):
                ...  # SpeechStart: barge in (speaker.flush()); SpeechEnd: transcribe event.audio
"""
