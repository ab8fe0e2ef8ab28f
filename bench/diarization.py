"""Speaker diarization: DER and word speaker accuracy by number of speakers, and CPU cost.

`.venv/bin/python bench/diarization.py` — conversations built from corpus speakers (the
tests' builder, tests/diarization_audio.py: turns of 1-15 s, 0.2-0.7 s pauses, seeded), plus
the corpus' two-channel call (one speaker per channel, mixed to mono). Each is recognised by
the core (tiny.en) and diarized with the requested bounds. Reported per case:

- word accuracy: words whose speaker is right under the best mapping of labels (a word's
  truth is the speaker of the turn holding its middle);
- DER: diarization error rate over 10 ms frames, the hypothesis being each word's span with
  its speaker, no collar, best label mapping: (missed + false alarm + confusion) / speech.
  Gaps between recognised words count as missed speech, so DER includes the recogniser's
  timing; "confusion" alone is the speaker part;
- CPU seconds per audio minute of diarization alone (embedding + clustering, process time).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hark.core import build_core
from hark.media import iter_any
from hark.settings import build_settings
from hark.speech.diarization.tagging import spoken_words
from hark.speech.types import RecognitionConfig

from diarization_audio import CORPUS, Conversation, Turn, best_mapping_accuracy, conversation

FRAME = 0.01


@dataclass(frozen=True)
class Case:
    name: str
    speakers: tuple[str, ...]
    bounds: tuple[int, int]


CASES = (
    Case("2 speakers (F+M)", ("lj", "ls1089"), (2, 6)),
    Case("2 similar voices (M+M)", ("ls1089", "ls1272"), (2, 6)),
    Case("3 speakers", ("lj", "ls1089", "ss"), (2, 6)),
    Case("4 speakers", ("lj", "ls1089", "ss", "ami"), (2, 6)),
    Case("4 speakers, count given", ("lj", "ls1089", "ss", "ami"), (4, 4)),
)


@dataclass(frozen=True)
class Score:
    accuracy: float
    der: float
    confusion: float
    cpu_per_minute: float
    found: int


def two_channel_call() -> Conversation:
    """stereo_en_call_8k_turns.wav mixed to mono; truth: whichever channel is louder where
    one is active (20 ms frames 30 dB under the file's loudest are silence)."""
    channels = np.concatenate(list(iter_any(CORPUS / "stereo_en_call_8k_turns.wav")), axis=1)
    frame = 320
    usable = channels[:, : channels.shape[1] // frame * frame].astype(np.float64)
    energy = np.square(usable).reshape(2, -1, frame).mean(axis=2)
    active = energy.max(axis=0) > energy.max() * 1e-3
    who = np.where(active, np.argmax(energy, axis=0), -1)
    turns: list[Turn] = []
    for index, speaker in enumerate(who):
        start, end = index * 0.02, (index + 1) * 0.02
        if speaker < 0:
            continue
        name = f"channel {speaker + 1}"
        if turns and turns[-1].speaker == name and start - turns[-1].end < 0.5:
            turns[-1] = Turn(name, turns[-1].start, end)
        else:
            turns.append(Turn(name, start, end))
    return Conversation(channels.mean(axis=0).astype(np.float32), tuple(turns))


def der(talk: Conversation, words: list[tuple[float, float, int]]) -> tuple[float, float]:
    """(DER, confusion share) over 10 ms frames under the best label mapping, no collar."""
    total = int(len(talk.samples) / 16_000 / FRAME) + 1
    names = talk.speakers
    truth = np.full(total, -1)
    for turn in talk.turns:
        truth[int(turn.start / FRAME) : int(turn.end / FRAME)] = names.index(turn.speaker)
    hyp = np.full(total, -1)
    for start, end, speaker in words:
        hyp[int(start / FRAME) : int(end / FRAME)] = speaker - 1
    speech = int(np.sum(truth >= 0))
    missed = int(np.sum((truth >= 0) & (hyp < 0)))
    false_alarm = int(np.sum((truth < 0) & (hyp >= 0)))
    both = (truth >= 0) & (hyp >= 0)
    labels = sorted(set(hyp[hyp >= 0].tolist()))
    best = 0
    for chosen in permutations(range(max(len(names), len(labels))), len(labels)):
        mapping = dict(zip(labels, chosen, strict=True))
        best = max(best, sum(mapping[h] == t for h, t in zip(hyp[both], truth[both], strict=True)))
    confusion = int(np.sum(both)) - best
    return (missed + false_alarm + confusion) / speech, confusion / speech


async def score(core: object, talk: Conversation, bounds: tuple[int, int]) -> Score:
    recognizer = core.recognizer  # type: ignore[attr-defined]
    config = RecognitionConfig(
        language_code="en-US",
        enable_speaker_diarization=True,
        min_speaker_count=bounds[0],
        max_speaker_count=bounds[1],
    )
    plan = recognizer.validate(config)
    channels = talk.samples[None, :]
    found = await recognizer.recognize_samples(channels, plan)
    cpu = time.process_time()
    parts = [await recognizer.embed_speakers(channels)]
    tagged = await recognizer.tag_speakers(found, parts, plan)
    cpu = time.process_time() - cpu
    words = [(w.start_time, w.end_time, w.speaker or 0) for w in tagged[-1].alternatives[0].words]
    assert len(words) == len(spoken_words(found))
    truth = [talk.speaker_at((start + end) / 2) for start, end, _ in words]
    error, confusion = der(talk, words)
    minutes = len(talk.samples) / 16_000 / 60
    return Score(
        best_mapping_accuracy(truth, [s for *_, s in words]),
        error,
        confusion,
        cpu / minutes,
        len({s for *_, s in words}),
    )


async def main(seeds: int, seconds: float) -> None:
    core = await build_core(build_settings({}))
    print("| case | runs | speakers found | word accuracy | DER | confusion | CPU s / audio min |")
    print("|---|---|---|---|---|---|---|")
    try:
        for case in CASES:
            scores = [
                await score(core, conversation(case.speakers, seed, seconds), case.bounds)
                for seed in range(1, seeds + 1)
            ]
            _row(f"{case.name}, bounds {case.bounds[0]}-{case.bounds[1]}", scores)
        _row(
            "two-channel call mixed to mono, bounds 2-6",
            [await score(core, two_channel_call(), (2, 6))],
        )
    finally:
        await core.close()


def _row(name: str, scores: list[Score]) -> None:
    def mean(values: list[float]) -> str:
        return f"{statistics.mean(values):.3f}"

    found = ",".join(str(s.found) for s in scores)
    print(
        f"| {name} | {len(scores)} | {found} | {mean([s.accuracy for s in scores])}"
        f" (min {min(s.accuracy for s in scores):.3f}) | {mean([s.der for s in scores])}"
        f" | {mean([s.confusion for s in scores])} | {mean([s.cpu_per_minute for s in scores])} |",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="conversations per case")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each")
    args = parser.parse_args()
    asyncio.run(main(args.seeds, args.seconds))
