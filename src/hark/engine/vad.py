"""Streaming voice activity detection: faster-whisper's Silero VAD, run frame by frame.

faster-whisper's ``SileroVADModel.__call__`` resets the model's recurrent state on every call,
so it only suits whole files. ``StreamingVad`` runs the same ONNX session directly and keeps
the state (``h``, ``c``) and the 64-sample context between calls: feeding audio in any chunk
sizes gives the probabilities one call over the whole audio would give.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

from hark.engine import SAMPLE_RATE, Samples

FRAME_SAMPLES = 512
"""Silero's frame at 16 kHz: one speech probability per 32 ms."""
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
_CONTEXT_SAMPLES = 64


class StreamingVad:
    """Speech probabilities (0..1), one per 512-sample frame, over audio fed in pieces.

    Not thread-safe; one per stream. The ONNX session itself is shared (and loaded once).
    """

    def __init__(self) -> None:
        self._session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: Samples) -> list[float]:
        """Probabilities for every frame completed by ``samples`` (possibly none)."""
        audio = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        n_frames = audio.shape[0] // FRAME_SAMPLES
        self._pending = audio[n_frames * FRAME_SAMPLES :]
        if not n_frames:
            return []
        frames = audio[: n_frames * FRAME_SAMPLES].reshape(n_frames, FRAME_SAMPLES)
        # Each frame is given with the 64 samples before it, as the model was trained.
        contexts = np.concatenate([self._context[None, :], frames[:-1, -_CONTEXT_SAMPLES:]])
        self._context = frames[-1, -_CONTEXT_SAMPLES:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        output, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return [float(p) for p in np.asarray(output).reshape(-1)]


def speech_regions(samples: Samples) -> list[tuple[float, float]]:
    """(start, end) seconds of the speech in ``samples`` (Silero over the whole audio), split
    at pauses of 0.25 s or more, each padded by 0.1 s: where speaker embeddings are taken."""
    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=100, min_speech_duration_ms=100)
    found = get_speech_timestamps(np.asarray(samples, dtype=np.float32), options)
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE) for span in found]
