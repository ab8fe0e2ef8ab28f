"""Speaker embeddings: the ``SpeakerEncoder`` Protocol, and GE2E (Resemblyzer's) in numpy.

The GE2E d-vector network (Wan et al. 2018, as trained by Resemblyzer 0.1.4): 40 mel bands
of the power spectrum (25 ms Hann windows every 10 ms, Slaney mel scale and norm, as
``librosa.feature.melspectrogram`` computes them; Resemblyzer feeds them without a log),
three LSTM layers of 256, a linear layer of 256, ReLU, L2 normalisation. It was trained on
1.6 s windows (160 frames), which is what ``embed`` takes. The LSTM runs over all windows at
once: one (windows x 256) @ (256 x 1024) product per frame and layer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hark.engine import SAMPLE_RATE, Samples
from hark.speech.diarization.weights import Tensors, load_state

Embeddings = npt.NDArray[np.float32]
"""(n, dimension) L2-normalised rows."""

N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
WINDOW_FRAMES = 160
WINDOW_SECONDS = WINDOW_FRAMES * HOP / SAMPLE_RATE
"""The span of audio one embedding describes (1.6 s)."""
_LAYERS = 3
_TARGET_DBFS = -30.0  # Resemblyzer's volume normalisation (raised only, never lowered)


class SpeakerEncoder(Protocol):
    """Maps fixed-length windows of 16 kHz speech to unit vectors: the closer two windows'
    vectors (by cosine), the likelier one voice. A pyannote or WeSpeaker model fits here."""

    window_seconds: float
    """The length of audio each embedding takes."""

    def embed(self, windows: npt.NDArray[np.float32]) -> Embeddings:
        """One L2-normalised row per row of ``windows`` ((n, window samples) float32)."""
        ...


class Ge2eEncoder:
    """Resemblyzer's GE2E encoder over its own weights (``models_pull`` puts them in place)."""

    window_seconds = WINDOW_SECONDS

    def __init__(self, weights: Path) -> None:
        state = load_state(weights)
        self._layers = [_lstm_layer(state, layer) for layer in range(_LAYERS)]
        self._linear_w = state["linear.weight"].T.astype(np.float32)
        self._linear_b = state["linear.bias"].astype(np.float32)

    def embed(self, windows: npt.NDArray[np.float32]) -> Embeddings:
        if not len(windows):
            return np.zeros((0, self._linear_b.shape[0]), dtype=np.float32)
        features = np.stack([mel_frames(_normalise_volume(window)) for window in windows])
        hidden = features[:, :WINDOW_FRAMES]
        for layer in self._layers:
            hidden = _run_lstm(hidden, *layer)
        raw: Embeddings = np.maximum(hidden[:, -1] @ self._linear_w + self._linear_b, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return np.asarray(raw / np.maximum(norms, 1e-9), dtype=np.float32)


def window_samples(encoder: SpeakerEncoder) -> int:
    return round(encoder.window_seconds * SAMPLE_RATE)


_Layer = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]


def _lstm_layer(state: Tensors, layer: int) -> _Layer:
    """One layer's weights, transposed, gates reordered from torch's (input, forget, cell,
    output) to (input, forget, output, cell), the sigmoid gates' columns halved: sigmoid(x)
    is 0.5 * tanh(x / 2) + 0.5, so one tanh over all four gates serves them all."""
    w_ih = state[f"lstm.weight_ih_l{layer}"]
    w_hh = state[f"lstm.weight_hh_l{layer}"]
    bias = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
    size = w_hh.shape[1]
    order = np.r_[0 : 2 * size, 3 * size : 4 * size, 2 * size : 3 * size]
    scale = np.where(np.arange(4 * size) < 3 * size, 0.5, 1.0)
    return (
        (w_ih[order].T * scale).astype(np.float32),
        (w_hh[order].T * scale).astype(np.float32),
        (bias[order] * scale).astype(np.float32),
    )


def _run_lstm(
    inputs: npt.NDArray[np.float32],
    w_ih: npt.NDArray[np.float32],
    w_hh: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """One LSTM layer (weights from ``_lstm_layer``) over (batch, time, in) inputs; returns
    every step's hidden state, (batch, time, hidden)."""
    batch, steps, _ = inputs.shape
    size = w_hh.shape[0]
    projected = inputs @ w_ih + bias  # the input half of every gate, all steps at once
    h = np.zeros((batch, size), dtype=np.float32)
    c = np.zeros((batch, size), dtype=np.float32)
    outputs = np.empty((batch, steps, size), dtype=np.float32)
    gates = np.empty((batch, 4 * size), dtype=np.float32)
    for t in range(steps):
        np.matmul(h, w_hh, out=gates)
        gates += projected[:, t]
        np.tanh(gates, out=gates)
        sig = gates[:, : 3 * size]
        sig *= 0.5
        sig += 0.5
        c *= sig[:, size : 2 * size]
        c += sig[:, :size] * gates[:, 3 * size :]
        h = sig[:, 2 * size :] * np.tanh(c)
        outputs[:, t] = h
    return outputs


def _normalise_volume(samples: Samples) -> Samples:
    """Raise quiet audio to -30 dBFS, as Resemblyzer's preprocessing did in training."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 1e-8:
        return samples
    gain_db = _TARGET_DBFS - 20.0 * np.log10(rms)
    if gain_db <= 0:
        return samples
    return (samples * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def mel_frames(samples: Samples) -> npt.NDArray[np.float32]:
    """(frames, 40) mel power, one frame per 10 ms, centred frames as librosa pads them."""
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    count = 1 + (padded.shape[0] - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    spectrum = np.abs(np.fft.rfft(padded[index] * _hann(), axis=1)) ** 2
    return (spectrum @ _mel_filters().T).astype(np.float32)


@cache
def _hann() -> npt.NDArray[np.float64]:
    """The periodic Hann window (scipy's ``get_window("hann", n, fftbins=True)``)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


@cache
def _mel_filters() -> npt.NDArray[np.float64]:
    """(40, 201) triangular filters on the Slaney mel scale, area-normalised (librosa's)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_points = np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)
    edges = _mel_to_hz(mel_points)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


_F_SP = 200.0 / 3  # Slaney: linear below 1 kHz, 200/3 Hz per mel
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz < _MIN_LOG_HZ:
        return hz / _F_SP
    return float(_MIN_LOG_MEL + np.log(hz / _MIN_LOG_HZ) / _LOG_STEP)


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = _F_SP * mels
    logarithmic = _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels - _MIN_LOG_MEL))
    return np.where(mels >= _MIN_LOG_MEL, logarithmic, linear)
