"""Test recordings whose speakers are known: corpus speakers taking turns, built at test time.

Each speaker's corpus clips are joined into one stream; a seeded generator then lets speakers
take turns of 1-15 s (each turn cut from the speaker's stream at a quiet moment, so cuts fall
between words), with short pauses between turns. The truth is the list of turns. Nothing is
written to the repository; the same seed always gives the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hark.media import iter_any, mono

RATE = 16_000
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

SPEAKERS: dict[str, tuple[str, ...]] = {
    # LJ Speech's reader (female)
    "lj": tuple(f"en_ljspeech_LJ001-{n:04d}.wav" for n in range(1, 13)),
    # LibriSpeech 1089 (male)
    "ls1089": ("en_librispeech_1089-134686-0000.flac", "en_librispeech_1089-134686-0001.flac"),
    # LibriVox's Sense and Sensibility reader
    "ss": tuple(f"en_librivox_sense_and_sensibility_{n:04d}.wav" for n in (870, 880, 890)),
    # AMI meeting, headset (female, spontaneous speech)
    "ami": ("en_ami_meeting_ES2011a_40-46s.wav",),
    # LibriSpeech 1272 (male: a voice close to 1089's)
    "ls1272": ("en_librispeech_1272-128104-0000.wav",),
}


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Conversation:
    samples: npt.NDArray[np.float32]
    turns: tuple[Turn, ...]

    @property
    def speakers(self) -> list[str]:
        return sorted({turn.speaker for turn in self.turns})

    def speaker_at(self, seconds: float) -> str | None:
        for turn in self.turns:
            if turn.start <= seconds <= turn.end:
                return turn.speaker
        return None

    def wav(self, *, channel_per_speaker: bool = False) -> bytes:
        """The conversation as a 16 kHz LINEAR16 WAV file; ``channel_per_speaker``: one
        channel per speaker (as a call recorded per line), each silent while the others talk."""
        import io
        import wave

        channels = self.samples[None, :]
        if channel_per_speaker:
            names = self.speakers
            channels = np.zeros((len(names), len(self.samples)), dtype=np.float32)
            for turn in self.turns:
                span = slice(round(turn.start * RATE), round(turn.end * RATE))
                channels[names.index(turn.speaker), span] = self.samples[span]
        pcm = (np.clip(channels.T, -1, 1) * 32767).astype("<i2").tobytes()
        out = io.BytesIO()
        with wave.open(out, "wb") as file:
            file.setnchannels(channels.shape[0])
            file.setsampwidth(2)
            file.setframerate(RATE)
            file.writeframes(pcm)
        return out.getvalue()


@cache
def speaker_stream(speaker: str) -> npt.NDArray[np.float32]:
    parts = []
    for name in SPEAKERS[speaker]:
        audio = np.concatenate(list(mono(iter_any(CORPUS / name))), axis=1)[0]
        parts.append(_trim(audio))
    return np.concatenate(parts).astype(np.float32)


def _trim(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Without leading and trailing silence (frames 40 dB under the loudest)."""
    energy = _frame_energy(audio)
    loud = np.flatnonzero(energy > energy.max() * 1e-4)
    return audio[loud[0] * _FRAME : (loud[-1] + 1) * _FRAME]


_FRAME = RATE // 50  # 20 ms


def _frame_energy(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    usable = audio[: audio.shape[0] // _FRAME * _FRAME].astype(np.float64)
    return np.asarray(np.square(usable).reshape(-1, _FRAME).mean(axis=1), dtype=np.float64)


def _cut(stream: npt.NDArray[np.float32], start: int, seconds: float) -> int:
    """The end of a turn of about ``seconds`` from ``start``: the quietest 20 ms frame within
    0.6 s of the target."""
    target = start + int(seconds * RATE)
    low = max(start + RATE // 2, target - int(0.6 * RATE))
    high = min(stream.shape[0], target + int(0.6 * RATE))
    if high - low < _FRAME:
        return int(min(stream.shape[0], target))
    energy = _frame_energy(stream[low:high])
    return low + int(np.argmin(energy)) * _FRAME + _FRAME // 2


def conversation(
    speakers: Sequence[str],
    seed: int,
    seconds: float = 60.0,
    turn_range: tuple[float, float] = (1.0, 15.0),
) -> Conversation:
    """About ``seconds`` of ``speakers`` taking turns of ``turn_range`` seconds in a seeded
    random order (never the same speaker twice in a row), 0.2-0.7 s of silence between."""
    rng = np.random.default_rng(seed)
    cursors = dict.fromkeys(speakers, 0)
    pieces: list[npt.NDArray[np.float32]] = []
    turns: list[Turn] = []
    at = 0
    previous = None
    while at < seconds * RATE:
        speaker = str(rng.choice([s for s in speakers if s != previous]))
        stream = speaker_stream(speaker)
        start = cursors[speaker]
        if start >= stream.shape[0] - RATE:
            start = 0
        end = _cut(stream, start, float(rng.uniform(*turn_range)))
        cursors[speaker] = end
        gap = np.zeros(int(rng.uniform(0.2, 0.7) * RATE), dtype=np.float32)
        pieces += [gap, stream[start:end]]
        at += gap.shape[0]
        turns.append(Turn(speaker, at / RATE, (at + end - start) / RATE))
        at += end - start
        previous = speaker
    return Conversation(np.concatenate(pieces), tuple(turns))


def best_mapping_accuracy(truth: Sequence[str | None], found: Sequence[int]) -> float:
    """The share of items whose found label matches the truth under the best one-to-one
    mapping of labels to speakers (items without a truth are left out)."""
    from itertools import permutations

    pairs = [(t, f) for t, f in zip(truth, found, strict=True) if t is not None]
    if not pairs:
        return 0.0
    names = sorted({t for t, _ in pairs})
    labels = sorted({f for _, f in pairs})
    slots: list[int | None] = [*labels, *[None] * max(0, len(names) - len(labels))]
    best = 0
    for chosen in permutations(slots, len(names)):
        mapping = dict(zip(names, chosen, strict=True))
        best = max(best, sum(mapping[t] == f for t, f in pairs))
    return best / len(pairs)
