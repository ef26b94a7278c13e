"""Text normalisation, so that a transcript and a hint phrase are compared word for word.

Speech recognisers disagree on case, punctuation, contractions ("you're" or
"you are") and numbers ("4" or "four"); none of that should decide whether an
agent said a phrase, so both sides are brought to one plain form first.
"""

from __future__ import annotations

import re

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})

# Contractions, most specific first: "can't" and "won't" change their stem; "'s"
# is only expanded after pronouns, where it means "is" (elsewhere it is a possessive).
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bcan't\b"), "cannot"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"\b(it|that|what|there|here|he|she|who|where|how)'s\b"), r"\1 is"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
)

# Anything that is not a lowercase letter or a digit separates words.
_NON_WORD = re.compile(r"[^a-z0-9]+")

_DIGITS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}


def normalise(text: str) -> str:
    """Lowercase words separated by single spaces, contractions expanded, digits spelt out."""
    lowered = text.lower().translate(_APOSTROPHES)
    for pattern, replacement in _CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    words = _NON_WORD.sub(" ", lowered).split()
    return " ".join(_DIGITS.get(word, word) for word in words)
