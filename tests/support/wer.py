"""Word error rate between a reference script and a transcript, after normalising both.

Normalising makes the rate measure recognition, not spelling: case, punctuation,
apostrophes and hyphens are ignored, a few spelling variants are unified, and
every number — written in digits ("4729", "$10", "3rd") or in words ("four seven
two nine", "ten dollars", "third") — becomes its digits, one token per digit, so
"twenty four" and "24" and "2 4" all compare equal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_ORDINALS = {
    "first": "one",
    "second": "two",
    "third": "three",
    "fourth": "four",
    "fifth": "five",
    "sixth": "six",
    "seventh": "seven",
    "eighth": "eight",
    "ninth": "nine",
    "tenth": "ten",
    "eleventh": "eleven",
    "twelfth": "twelve",
    "thirteenth": "thirteen",
    "fourteenth": "fourteen",
    "fifteenth": "fifteen",
    "sixteenth": "sixteen",
    "seventeenth": "seventeen",
    "eighteenth": "eighteen",
    "nineteenth": "nineteen",
    "twentieth": "twenty",
    "thirtieth": "thirty",
}
_SPELLINGS = {
    "ok": "okay",
    "mr": "mister",
    "mrs": "missus",
    "dr": "doctor",
    "alright": "all right",
}
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at "}
_CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}

# A currency sign glued to an amount: "$10", "£7.50". The unit is spoken after the number.
_MONEY = re.compile(r"([$£€])(\d[\d,]*(?:\.\d+)?)")
# Thousands separators between digit groups ("1,500"); not commas that end a clause.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Digits with an ordinal suffix ("3rd", "21st"): the suffix carries no extra word.
_ORDINAL_DIGITS = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
# Anything that is not a letter, digit, apostrophe or space separates words.
_SEPARATORS = re.compile(r"[^a-z0-9' ]+")


def normalise(text: str) -> list[str]:
    """The words of text in a canonical form: lower case, no punctuation, numbers as digits."""
    lowered = text.lower()
    lowered = _MONEY.sub(lambda match: f"{match[2]} {_CURRENCIES[match[1]]}", lowered)
    lowered = _THOUSANDS.sub("", lowered)
    lowered = _ORDINAL_DIGITS.sub(r"\1", lowered)
    for symbol, spoken in _SYMBOLS.items():
        lowered = lowered.replace(symbol, spoken)
    # "o'clock" loses its apostrophe with the others; "9:30" and "7.50" split into two numbers.
    words = _SEPARATORS.sub(" ", lowered.replace("'", "")).split()
    words = [part for word in words for part in _SPELLINGS.get(word, word).split()]
    words = [_ORDINALS.get(word, word) for word in words]
    return _numbers_to_digits(words)


def word_edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Substitutions, deletions and insertions that turn reference into hypothesis."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (ref_word != hyp_word),
                )
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class WerResult:
    """Word errors against the reference's word count, after normalisation."""

    errors: int
    reference_words: int

    @property
    def rate(self) -> float:
        """Errors per reference word (0.0 is perfect; it can exceed 1.0)."""
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.reference_words

    def __add__(self, other: WerResult) -> WerResult:
        """Pools two measurements, so an overall rate weighs every word equally."""
        return WerResult(self.errors + other.errors, self.reference_words + other.reference_words)


def word_errors(reference: str, hypothesis: str) -> WerResult:
    """Normalises both texts and counts the word errors of hypothesis against reference."""
    ref_words = normalise(reference)
    return WerResult(word_edit_distance(ref_words, normalise(hypothesis)), len(ref_words))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of hypothesis against reference, after normalising both."""
    return word_errors(reference, hypothesis).rate


def _numbers_to_digits(words: list[str]) -> list[str]:
    """Replaces every number (in words or digits) by its digits, one token per digit."""
    result: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.isdigit():
            result.extend(word)
            i += 1
            continue
        value, consumed = _parse_number(words, i)
        if consumed:
            result.extend(str(value))
            i += consumed
        else:
            result.append(word)
            i += 1
    return result


def _parse_number(words: list[str], start: int) -> tuple[int, int]:
    """Reads one spoken cardinal at words[start:]; returns its value and how many words it took.

    It stops where English grammar would start a new number, so "twenty twenty four"
    reads as 20 then 24 and "four seven" as 4 then 7.
    """
    total = 0
    group = 0  # the part below the current scale word, e.g. 342 in "342 thousand"
    last: str | None = None  # the kind of the previous word: unit, teen, tens, hundred, scale
    i = start
    while i < len(words):
        word = words[i]
        if word == "and" and last in {"hundred", "scale"} and _is_number_word(words, i + 1):
            i += 1
            continue
        if word in _UNITS and last in {None, "tens", "hundred", "scale"}:
            if word == "zero" and last is not None:
                break
            group += _UNITS[word]
            last = "unit"
        elif word in _TEENS and last in {None, "hundred", "scale"}:
            group += _TEENS[word]
            last = "teen"
        elif word in _TENS and last in {None, "hundred", "scale"}:
            group += _TENS[word]
            last = "tens"
        elif word == "hundred" and last in {"unit", "teen", "tens"} and group < 100:
            group *= 100
            last = "hundred"
        elif word in _SCALES and word != "hundred" and last in {"unit", "teen", "tens", "hundred"}:
            total += group * _SCALES[word]
            group = 0
            last = "scale"
        else:
            break
        i += 1
    return total + group, i - start


def _is_number_word(words: list[str], index: int) -> bool:
    return index < len(words) and (
        words[index] in _UNITS or words[index] in _TEENS or words[index] in _TENS
    )
