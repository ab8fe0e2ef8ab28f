"""Build the phrase-boost evaluation set, ``tests/fixtures/boost_cases.jsonl``, from the corpus.

Each English recording (concatenations of others left out) is decoded by tiny.en; its
words are aligned to the reference, and it is cut into clips of a few seconds at pauses
between two correctly heard words, so that each clip's reference is exact. Each clip is
decoded again on its own, and every word (or run of up to three words) tiny.en gets wrong
that is a name or content word (not a number, not "mister" written "Mr") becomes a "fix"
case: the clip, with the reference words as a phrase hint. Every other clip, in turn,
becomes an "irrelevant" case: a hint taken from some other case's phrase, which the clip
does not say and must not start saying. Cases name a corpus file and a time range; no
audio is copied.

    .venv/bin/python bench/boost_cases.py [--out tests/fixtures/boost_cases.jsonl]
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hark.engine import SAMPLE_RATE, DecodeOptions, Engine  # noqa: E402
from hark.engine.whisper import WhisperEngine  # noqa: E402

from audio_samples import frames  # noqa: E402
from conftest import CORPUS, manifest  # noqa: E402
from wer import normalize  # noqa: E402

MIN_CLIP_SECONDS = 3.0
FIX_BOOST = 10.0  # Google's own sample boosts "fare" by 10
SKIPPED = ("long_en_multispeaker", "long_en_combined", "medium_", "stereo_")
EXTRA = (
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",
    "tel8k_en_librispeech_1089-134686-0000.wav",
    "tel8k_en_librivox_0870_mulaw.ulaw",
    "tel8k_en_cmu_cards_003_s16le_8k.raw",
)
# Spelled differently, not misheard: a hint cannot be blamed for these.
_NOT_MISHEARD = frozenset(
    {"mister", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
    | {"ten", "eleven", "twelve", "thirteen", "fifteen", "eighteen", "twenty", "forty", "fifty"}
    | {"fourteen", "fifteenth", "hundred", "thousand", "the", "and", "a", "an", "of", "in"}
)


@dataclass(frozen=True)
class Token:
    text: str
    start: float
    end: float


def sources() -> list[str]:
    """English recordings, each speech once (long_en_ljspeech holds the LJ001 ones), plus the
    telephone-band copies, which tiny.en hears differently."""
    names = []
    for name, row in manifest().items():
        inside_long = name.startswith("en_ljspeech_LJ001-")
        if not str(row["language"]).startswith("en") or inside_long:
            continue
        if name in EXTRA or not (row["derived"] or name.startswith(SKIPPED)):
            names.append(name)
    return names


def samples(name: str) -> np.ndarray:
    decoded = frames(CORPUS / name, SAMPLE_RATE, 1)
    pcm = np.concatenate([frame.to_ndarray().reshape(-1) for frame in decoded])
    return (pcm.astype(np.float32) / 32768).astype(np.float32)


def tokens(engine: Engine, audio: np.ndarray) -> list[Token]:
    """tiny.en's words, normalised as the references are, each with its word's times."""
    transcript = engine.transcribe(audio, DecodeOptions())
    return [
        Token(text, word.start, word.end)
        for segment in transcript.segments
        for word in segment.words
        for text in normalize(word.text).split()
    ]


def clips(ref: list[str], heard: list[Token], duration: float) -> list[tuple[float, float, str]]:
    """(start, end, reference) of clips cut between two correctly heard words."""
    matcher = difflib.SequenceMatcher(a=ref, b=[t.text for t in heard], autojunk=False)
    at_ref: dict[int, int] = {}
    for op, a1, a2, b1, _ in matcher.get_opcodes():
        if op == "equal":
            at_ref.update({b1 + k: a1 + k for k in range(a2 - a1)})
    found, start, ref_start = [], 0.0, 0
    for j in range(len(heard) - 1):
        if j not in at_ref or j + 1 not in at_ref:
            continue
        cut = (heard[j].end + heard[j + 1].start) / 2
        if cut - start >= MIN_CLIP_SECONDS and heard[j + 1].start - heard[j].end >= 0.05:
            found.append((start, cut, " ".join(ref[ref_start : at_ref[j] + 1])))
            start, ref_start = cut, at_ref[j] + 1
    found.append((start, duration, " ".join(ref[ref_start:])))
    return [clip for clip in found if clip[1] - clip[0] >= 1.0 and clip[2]]


def misheard(reference: str, hypothesis: str) -> list[str]:
    """Reference phrases (≤3 words, one content word at least) that ``hypothesis`` got wrong."""
    ref, hyp = reference.split(), hypothesis.split()
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    phrases = []
    for op, a1, a2, _, _ in matcher.get_opcodes():
        words = ref[a1:a2]
        content = [w for w in words if w not in _NOT_MISHEARD and len(w) >= 3]
        if op in ("replace", "delete") and 0 < len(words) <= 3 and content:
            phrases.append(" ".join(words))
    return phrases


def build(engine: Engine) -> list[dict[str, Any]]:
    fixes: list[dict[str, Any]] = []
    clean: list[dict[str, Any]] = []
    for name in sources():
        audio = samples(name)
        ref = str(manifest()[name]["transcript_normalized"]).split()
        for start, end, reference in clips(ref, tokens(engine, audio), len(audio) / SAMPLE_RATE):
            clip = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            heard = normalize(
                " ".join(s.text for s in engine.transcribe(clip, DecodeOptions()).segments)
            )
            base = {"file": name, "start": round(start, 2), "end": round(end, 2)}
            case: dict[str, Any] = {**base, "reference": reference}
            phrases = misheard(reference, heard)
            for phrase in phrases:
                fixes.append({**case, "kind": "fix", "phrase": phrase, "boost": FIX_BOOST})
            if not phrases:
                clean.append(case)
            print(f"{name} {start:.2f}-{end:.2f} {phrases} | {heard}", flush=True)
    pool = sorted({fix["phrase"] for fix in fixes})
    irrelevant = []
    for index, case in enumerate(clean):
        phrase = next(
            p
            for k in range(len(pool))
            if (p := pool[(index + k) % len(pool)]) not in case["reference"]
        )
        irrelevant.append({**case, "kind": "irrelevant", "phrase": phrase, "boost": FIX_BOOST})
    return fixes + irrelevant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/boost_cases.jsonl")
    args = parser.parse_args()
    engine = WhisperEngine.load("tiny.en")
    cases = build(engine)
    with args.out.open("w", encoding="utf-8") as out:
        for number, case in enumerate(cases, start=1):
            out.write(json.dumps({"id": number, **case}) + "\n")
    kinds = [case["kind"] for case in cases]
    print(f"{kinds.count('fix')} fix cases, {kinds.count('irrelevant')} irrelevant ones")


if __name__ == "__main__":
    main()
