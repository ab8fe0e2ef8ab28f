"""Google's ``profanityFilter``: a profane word keeps its first letter, the rest becomes ``*``.

Google does not publish its list; this one covers common English profanity and slurs in
their usual inflections. Matching is on whole words, case-insensitive, ignoring the
punctuation around a word, so ``"Shit!"`` becomes ``"S***!"``.
"""

from __future__ import annotations

import re

_STEMS = [
    "arse",
    "arsehole",
    "ass",
    "asshole",
    "bastard",
    "bitch",
    "bollocks",
    "bullshit",
    "cock",
    "crap",
    "cunt",
    "damn",
    "dick",
    "dickhead",
    "dyke",
    "fag",
    "faggot",
    "fuck",
    "fucker",
    "fucking",
    "goddamn",
    "hell",
    "horseshit",
    "jackass",
    "motherfucker",
    "nigga",
    "nigger",
    "piss",
    "prick",
    "pussy",
    "retard",
    "shit",
    "shitty",
    "slut",
    "spic",
    "twat",
    "wank",
    "wanker",
    "whore",
]
_SUFFIXES = ("", "s", "es", "ed", "er", "ers", "ing", "in", "y")
PROFANE = frozenset(stem + suffix for stem in _STEMS for suffix in _SUFFIXES)

# A word with the punctuation that may cling to it: ("(", "Shit", "!)").
_TOKEN = re.compile(r"^(\W*)([\w'-]+?)(\W*)$")


def mask_word(word: str) -> str:
    """``word`` with its letters after the first replaced by ``*`` if it is profane."""
    match = _TOKEN.match(word)
    if not match:
        return word
    before, core, after = match.groups()
    if core.lower() not in PROFANE:
        return word
    return f"{before}{core[0]}{'*' * (len(core) - 1)}{after}"


def mask_text(text: str) -> str:
    """Apply :func:`mask_word` to every whitespace-separated word, keeping the spacing."""
    return re.sub(r"\S+", lambda match: mask_word(match.group(0)), text)
