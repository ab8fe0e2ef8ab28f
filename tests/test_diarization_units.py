"""Diarization's parts without the model: the checkpoint reader's safety, clustering, words."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from hark.speech.diarization.assign import word_speakers
from hark.speech.diarization.bounds import SpeakerBounds
from hark.speech.diarization.clustering import cluster
from hark.speech.diarization.encoder import _lstm_layer, _run_lstm, mel_frames
from hark.speech.diarization.weights import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    CheckpointError,
    load_state,
)
from hark.speech.diarization.windows import SpeechEmbeddings, window_starts


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("true",))


def test_a_checkpoint_that_names_any_other_global_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    with path.open("wb") as file:
        for part in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(part, file, protocol=2)
        pickle.dump({"model_state": _Evil()}, file, protocol=2)
    with pytest.raises(CheckpointError, match=r"names posix\.system"):
        load_state(path)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"PK\x03\x04 not a legacy checkpoint")
    with pytest.raises(CheckpointError):
        load_state(path)


def _voices(counts: list[int], seed: int = 0) -> np.ndarray:
    """Unit vectors around one random direction per voice, as GE2E windows of a voice sit."""
    rng = np.random.default_rng(seed)
    rows = []
    for count in counts:
        centre = rng.standard_normal(256)
        rows.append(centre + 0.5 * np.linalg.norm(centre) / 16 * rng.standard_normal((count, 256)))
    vectors = np.concatenate(rows).astype(np.float32)
    return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def test_clustering_estimates_the_count_within_bounds() -> None:
    vectors = _voices([30, 20, 25])
    labels = cluster(vectors, SpeakerBounds(2, 6))
    assert len(set(labels.tolist())) == 3
    assert labels[:30].tolist() == [0] * 30  # numbered in order of first appearance
    assert set(labels[30:50].tolist()) == {1}
    assert len(set(cluster(vectors, SpeakerBounds(2, 2)).tolist())) == 2
    assert len(set(cluster(vectors, SpeakerBounds(4, 6)).tolist())) == 4


def test_a_tiny_cluster_is_not_taken_for_a_voice() -> None:
    vectors = _voices([40, 40, 1], seed=3)
    assert len(set(cluster(vectors, SpeakerBounds(2, 6)).tolist())) == 2


def test_every_word_gets_the_speaker_of_the_windows_around_it() -> None:
    starts = np.arange(0.0, 10.0, 0.75)
    windows = SpeechEmbeddings(starts, starts + 1.6, np.zeros((len(starts), 256), np.float32))
    labels = (starts >= 5.0).astype(np.int64)
    words = [(1.0, 1.3), (4.0, 4.2), (7.0, 7.4), (30.0, 30.5)]
    assert word_speakers(windows, labels, words) == [1, 1, 2, 2]


def test_windows_cover_each_region_and_short_ones_once() -> None:
    starts = window_starts([(0.0, 4.0), (10.0, 10.5)], 1.6, 20.0)
    assert starts[0] == 0.0
    assert starts[-2] + 1.6 == pytest.approx(4.0)
    assert starts[-1] == pytest.approx(10.25 - 0.8)


def _torch_lstm(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch.nn.LSTM's equations as its documentation writes them (gates i, f, g, o), plainly."""

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-v)))

    size = w_hh.shape[1]
    h = np.zeros((x.shape[0], size))
    c = np.zeros((x.shape[0], size))
    out = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + h @ w_hh.T + b
        i, f = sigmoid(gates[:, :size]), sigmoid(gates[:, size : 2 * size])
        g, o = np.tanh(gates[:, 2 * size : 3 * size]), sigmoid(gates[:, 3 * size :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def test_the_vectorised_lstm_computes_torchs_equations() -> None:
    rng = np.random.default_rng(7)
    size, inputs = 8, 5
    state = {
        "lstm.weight_ih_l0": rng.standard_normal((4 * size, inputs)).astype(np.float32),
        "lstm.weight_hh_l0": rng.standard_normal((4 * size, size)).astype(np.float32),
        "lstm.bias_ih_l0": rng.standard_normal(4 * size).astype(np.float32),
        "lstm.bias_hh_l0": rng.standard_normal(4 * size).astype(np.float32),
    }
    x = rng.standard_normal((3, 12, inputs)).astype(np.float32)
    ours = _run_lstm(x, *_lstm_layer(state, 0))
    bias = state["lstm.bias_ih_l0"] + state["lstm.bias_hh_l0"]
    expected = _torch_lstm(x, state["lstm.weight_ih_l0"], state["lstm.weight_hh_l0"], bias)
    assert np.abs(ours - expected).max() < 1e-5


def test_the_mel_filters_are_slaney_triangles() -> None:
    frames = mel_frames(np.zeros(16_000, dtype=np.float32))
    assert frames.shape == (101, 40)  # centred 25 ms frames every 10 ms, as librosa's
    tone = np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000).astype(np.float32)
    loudest = int(np.argmax(mel_frames(tone)[50]))
    # Slaney: linear below 1 kHz (440 Hz is mel 6.6), 42 edges evenly spaced up to 8 kHz
    # (mel 45.25): band 5 is centred on mel 6.6.
    assert loudest == 5
