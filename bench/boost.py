"""Phrase boosts on the evaluation set (``tests/fixtures/boost_cases.jsonl``): fixed and damaged.

Every case's clip is decoded by tiny.en (in this process, Hark's engine) four ways: no hint;
the hint as Whisper's prompt only (Hark before n-best rescoring, and Hark today for a phrase
without a boost); rescoring only; both (what Hark does for a boosted phrase: each window
decoded with and without the prompt, both beams rescored, the prompted reading kept when it
earns more bonus). A "fix" case is fixed when its phrase, absent from the unhinted
transcript, appears; any case is damaged when its word error rate against the clip's
reference is higher than without the hint. Prints the cases that changed, then one line per
way with the mean decode time per clip (the ways interleaved case by case).

    .venv/bin/python bench/boost.py [--scale 0.5] [--hypotheses 8] [--ways prompt,rescore,both]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hark.engine.rescoring  # noqa: E402
import hark.speech.boost  # noqa: E402
from boost_cases import samples  # noqa: E402
from hark.engine import SAMPLE_RATE, DecodeOptions, Engine  # noqa: E402
from hark.engine.whisper import WhisperEngine  # noqa: E402
from hark.speech.boost import phrase_boosts  # noqa: E402
from hark.speech.types import Phrase  # noqa: E402

from wer import normalize, wer  # noqa: E402

CASES = ROOT / "tests/fixtures/boost_cases.jsonl"


def ways(phrase: Phrase) -> dict[str, DecodeOptions]:
    boosted = phrase_boosts([phrase])
    return {
        "none": DecodeOptions(),
        "prompt": DecodeOptions(prompt=phrase.value),
        "rescore": DecodeOptions(rescore=boosted),
        "both": DecodeOptions(prompt=phrase.value, rescore=boosted),
    }


def says(text: str, phrase: str) -> bool:
    return f" {normalize(phrase)} " in f" {normalize(text)} "


def evaluate(engine: Engine, cases: list[dict[str, Any]], chosen: list[str]) -> None:
    audio: dict[str, np.ndarray] = {}
    tally = {way: {"fixed": 0, "damaged": 0, "seconds": 0.0} for way in ["none", *chosen]}
    fixes = sum(case["kind"] == "fix" for case in cases)
    for case in cases:
        if case["file"] not in audio:
            audio[case["file"]] = samples(case["file"])
        clip = audio[case["file"]][
            int(case["start"] * SAMPLE_RATE) : int(case["end"] * SAMPLE_RATE)
        ]
        options = ways(Phrase(case["phrase"], case["boost"]))
        heard = {}
        for way in ["none", *chosen]:
            began = time.perf_counter()
            text = " ".join(s.text for s in engine.transcribe(clip, options[way]).segments)
            tally[way]["seconds"] += time.perf_counter() - began
            heard[way] = text
        base = wer(case["reference"], heard["none"])
        for way in chosen:
            fixed = case["kind"] == "fix" and says(heard[way], case["phrase"])
            fixed = fixed and not says(heard["none"], case["phrase"])
            damaged = wer(case["reference"], heard[way]) > base + 1e-9
            tally[way]["fixed"] += fixed
            tally[way]["damaged"] += damaged
            if fixed or damaged:
                mark = " and ".join(m for m, on in (("fixed", fixed), ("DAMAGED", damaged)) if on)
                print(f"  #{case['id']} {way}: {mark} [{case['phrase']}] {normalize(heard[way])}")
                if damaged:
                    print(f"  #{case['id']} (no hint) {normalize(heard['none'])}")
    print(f"{len(cases)} cases: {fixes} fix, {len(cases) - fixes} irrelevant")
    for way, counts in tally.items():
        print(
            f"{way:8} fixed {counts['fixed']}/{fixes} ({counts['fixed'] / max(1, fixes):.0%})"
            f"  damaged {counts['damaged']}/{len(cases)} ({counts['damaged'] / len(cases):.0%})"
            f"  {counts['seconds'] / len(cases):.2f} s/clip"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=hark.speech.boost.BOOST_SCALE)
    parser.add_argument("--hypotheses", type=int, default=hark.engine.rescoring.RESCORE_HYPOTHESES)
    parser.add_argument("--ways", default="prompt,rescore,both")
    parser.add_argument("--boost", type=float, default=None, help="every case's boost")
    args = parser.parse_args()
    hark.speech.boost.BOOST_SCALE = args.scale  # a knob for this run only
    hark.engine.rescoring.RESCORE_HYPOTHESES = args.hypotheses
    lines = CASES.read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines]
    if args.boost is not None:
        cases = [{**case, "boost": args.boost} for case in cases]
    print(f"scale {args.scale}, {args.hypotheses} hypotheses")
    evaluate(WhisperEngine.load("tiny.en"), cases, args.ways.split(","))


if __name__ == "__main__":
    main()
