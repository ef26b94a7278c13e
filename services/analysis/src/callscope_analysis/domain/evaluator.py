"""The offline evaluator: answers each check by looking for its hint phrases in the transcript.

It is deliberately simple, so that every answer can be explained to a reviewer:
a check passes when the check's speaker says something close to one of its
phrases inside the check's window. "Close" is rapidfuzz's partial ratio on
normalised text, which tolerates the small slips of a speech recogniser
("thank you for colling") without accepting a different sentence.

- Speaker: segments of the check's speaker; segments whose speaker is unknown
  (mono audio) count for anyone, because they may be either party.
- Window: OPENING is the first `edge_fraction` of the call's duration or its
  first `edge_turns` segments, whichever reaches further, but never past the
  middle of the call; CLOSING is the same at the end; ANYWHERE is the whole
  call. The window is cut at word level (word times, or words spread evenly
  over a segment that has none), because a recogniser may return a whole
  call as one segment.
- A phrase may be cut in two by the recogniser's segmentation, so two
  consecutive segments of the same speaker are also tried joined together.
- Keywords: all of a check's keywords said in one stretch of the check's
  speaker, in any order (each word allowed a recogniser's slip), satisfy the
  check as a phrase does ("verify" ... "identity").
- A YES_NO_NOT_APPLICABLE check with `applies_when` phrases applies only when
  someone says one of them anywhere in the call; otherwise it is NOT_APPLICABLE.
- Negated: a match whose words carry a negation the phrase lacks ("I do not
  understand how" for "i understand how") does not count.
- Refused: when the other party's next turn refuses what was asked ("I will
  not verify anything"), the words were said but the check was not done: NO.
- A check without phrases or keywords cannot be judged here: NOT_APPLICABLE,
  left out of the score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rapidfuzz import fuzz

from callscope_analysis.domain.model import (
    AnswerType,
    Campaign,
    Check,
    CheckAnswer,
    CheckResult,
    CheckWindow,
    EvaluatorOutcome,
    Evidence,
    Segment,
    Speaker,
    Transcript,
    Word,
)
from callscope_analysis.domain.text import normalise

DEFAULT_MATCH_THRESHOLD = 85.0

# What a party says to refuse a request (normalised). Kept small and specific: "no, I
# will not need anything else" answers an offer, it does not refuse one.
REFUSALS: tuple[str, ...] = (
    "i will not verify",
    "i will not give",
    "i will not tell",
    "i am not giving",
    "i am not telling",
    "i would rather not say",
    "i would rather not give",
    "i refuse to",
    "i do not want to give",
    "i am not going to give",
)

# A failed check's reasoning mentions the closest phrase only when it came this
# close; below it the "closest" stretch is a coincidence and would only confuse.
_NEAR_MISS = 75.0


@dataclass(frozen=True)
class _Candidate:
    """A stretch of eligible speech: one segment, or two consecutive ones joined."""

    normalised: str
    quote: str
    speaker: Speaker
    start: float
    end: float


@dataclass(frozen=True)
class _Match:
    """How closely a phrase occurs in a candidate, and the words that matched."""

    phrase: str
    similarity: float
    fragment: str
    candidate: _Candidate


def phrase_similarity(phrase: str, text: str) -> tuple[float, str]:
    """How well a normalised phrase occurs in normalised text (0-100), and the words that match.

    Partial ratio compares the phrase with the best-matching stretch of the text
    as long as the phrase. When the text is shorter than the phrase that would
    compare the text against part of the phrase ("thank you" inside "thank you
    for calling" scores 100), so a short text is compared with the whole phrase.
    """
    if not phrase or not text:
        return 0.0, ""
    if len(text) < len(phrase):
        return float(fuzz.ratio(phrase, text)), text
    alignment = fuzz.partial_ratio_alignment(phrase, text)
    if alignment is None:
        return 0.0, ""
    return float(alignment.score), _whole_words(text, alignment.dest_start, alignment.dest_end)


def _whole_words(text: str, start: int, end: int) -> str:
    """The text between start and end, widened to whole words."""
    while start > 0 and text[start - 1] != " ":
        start -= 1
    while end < len(text) and text[end] != " ":
        end += 1
    return text[start:end].strip()


def format_time(seconds: float) -> str:
    """Seconds as mm:ss, or h:mm:ss from an hour on."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class PhraseEvaluator:
    """Answers checks from their hint phrases; deterministic and explainable."""

    name: ClassVar[str] = "local"

    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    edge_fraction: float = 0.3
    edge_turns: int = 3

    async def assess(self, transcript: Transcript, campaign: Campaign) -> EvaluatorOutcome:
        """The campaign's checks answered (the CheckEvaluator port); nothing is spent."""
        return EvaluatorOutcome(self.name, self.evaluate(transcript, campaign.checks))

    def evaluate(self, transcript: Transcript, checks: Sequence[Check]) -> tuple[CheckResult, ...]:
        """Every check's result, in the order of the checks."""
        return tuple(self.evaluate_check(transcript, check) for check in checks)

    def evaluate_check(self, transcript: Transcript, check: Check) -> CheckResult:
        """One check's answer, confidence, evidence and reasoning."""
        phrases = _normalised_hints(check.phrases)
        keywords = tuple(
            dict.fromkeys(
                word for _, hint in _normalised_hints(check.keywords) for word in hint.split()
            )
        )
        if not phrases and not keywords:
            return _not_applicable(
                check,
                "the offline evaluator needs hint phrases or keywords and this check has none; "
                "add some to the check to have it evaluated",
            )
        if check.answer_type is AnswerType.YES_NO_NOT_APPLICABLE and check.applies_when:
            trigger = self._trigger(transcript, check)
            if trigger is None:
                examples = " or ".join(f"'{phrase}'" for phrase in check.applies_when[:2])
                return _not_applicable(
                    check, f"not applicable: nobody said anything like {examples}"
                )
        candidates = list(self._candidates(transcript, check))
        best = _best_match(candidates, phrases)
        if best is not None and best.similarity >= self.match_threshold:
            refusal = self._refusal(transcript, check, best.candidate)
            if refusal is None:
                return self._passed(check, best)
            return self._refused(check, best.candidate, refusal)
        said = _keywords_said(candidates, keywords, self.match_threshold) if keywords else None
        if said is not None:
            refusal = self._refusal(transcript, check, said)
            if refusal is None:
                return self._passed_on_keywords(check, said, keywords)
            return self._refused(check, said, refusal)
        return self._failed(
            check,
            best,
            has_speech=bool(candidates),
            phrases=[phrase for phrase, _ in phrases],
            keywords=keywords,
        )

    def _refusal(self, transcript: Transcript, check: Check, said: _Candidate) -> Segment | None:
        """The other party's next turn, when it refuses what the check's speaker asked."""
        other = {Speaker.AGENT: Speaker.CUSTOMER, Speaker.CUSTOMER: Speaker.AGENT}.get(said.speaker)
        if other is None:
            return None
        following = sorted(
            (s for s in transcript.segments if s.start >= said.start and s.speaker is other),
            key=lambda segment: segment.start,
        )
        if not following:
            return None
        reply = normalise(following[0].text)
        refused = any(
            phrase_similarity(refusal, reply)[0] >= self.match_threshold for refusal in REFUSALS
        )
        return following[0] if refused else None

    def _refused(self, check: Check, said: _Candidate, refusal: Segment) -> CheckResult:
        return CheckResult(
            check=check,
            answer=CheckAnswer.NO,
            passed=False,
            confidence=0.7,
            evidence=Evidence(
                quote=refusal.text.strip(),
                speaker=refusal.speaker,
                start=refusal.start,
                end=refusal.end,
            ),
            reasoning=(
                f"{_who_said(said.speaker)} asked at {format_time(said.start)}, but "
                f"{_who_said(refusal.speaker)} refused: '{refusal.text.strip()}'"
            ),
        )

    def _trigger(self, transcript: Transcript, check: Check) -> _Match | None:
        """Where someone said one of the check's applies_when phrases, if anyone did."""
        anyone = Check(id=check.id, name=check.name, speaker=Speaker.ANY)
        match = _best_match(
            self._candidates(transcript, anyone), _normalised_hints(check.applies_when)
        )
        return match if match is not None and match.similarity >= self.match_threshold else None

    def _candidates(self, transcript: Transcript, check: Check) -> Iterator[_Candidate]:
        segments = sorted(transcript.segments, key=lambda segment: (segment.start, segment.end))
        low, high = self._window_bounds(segments, transcript.effective_duration, check.window)
        parts: list[_Candidate | None] = []
        for segment in segments:
            if not _spoken_by(segment.speaker, check.speaker):
                parts.append(None)
                continue
            parts.append(_part_within(segment, low, high))
        for index, part in enumerate(parts):
            if part is None:
                continue
            yield part
            following = parts[index + 1] if index + 1 < len(parts) else None
            if following is not None and following.speaker == part.speaker:
                yield _joined(part, following)

    def _window_bounds(
        self, segments: Sequence[Segment], duration: float, window: CheckWindow
    ) -> tuple[float, float]:
        """The time range whose words the window covers.

        The opening reaches to `edge_fraction` of the call or to the end of its
        first `edge_turns` segments, whichever is later, and the closing
        likewise from the end; neither reaches past the middle of the call, so
        one long recognised segment cannot make a closing remark count as an opening.
        """
        if window is CheckWindow.ANYWHERE or not segments:
            return -math.inf, math.inf
        edge = duration * self.edge_fraction
        middle = duration / 2
        if window is CheckWindow.FIRST_HALF:
            return -math.inf, middle
        if window is CheckWindow.OPENING:
            turns_end = segments[min(self.edge_turns, len(segments)) - 1].end
            return -math.inf, min(middle, max(edge, turns_end))
        turns_start = segments[max(len(segments) - self.edge_turns, 0)].start
        return max(middle, min(duration - edge, turns_start)), math.inf

    def _passed(self, check: Check, match: _Match) -> CheckResult:
        candidate = match.candidate
        reasoning = (
            f"{_who_said(candidate.speaker)} said '{match.fragment}' "
            f"at {format_time(candidate.start)}"
        )
        if match.fragment != normalise(match.phrase):
            reasoning += f" (close to '{match.phrase}', {match.similarity:.0f}% similar)"
        return CheckResult(
            check=check,
            answer=CheckAnswer.YES,
            passed=True,
            confidence=self._confidence_yes(match.similarity),
            evidence=Evidence(
                quote=candidate.quote,
                speaker=candidate.speaker,
                start=candidate.start,
                end=candidate.end,
            ),
            reasoning=reasoning,
        )

    def _passed_on_keywords(
        self, check: Check, candidate: _Candidate, keywords: Sequence[str]
    ) -> CheckResult:
        listed = ", ".join(f"'{word}'" for word in keywords)
        return CheckResult(
            check=check,
            answer=CheckAnswer.YES,
            passed=True,
            confidence=0.7,
            evidence=Evidence(
                quote=candidate.quote,
                speaker=candidate.speaker,
                start=candidate.start,
                end=candidate.end,
            ),
            reasoning=(
                f"{_who_said(candidate.speaker)} said {listed} together "
                f"at {format_time(candidate.start)}"
            ),
        )

    def _failed(
        self,
        check: Check,
        best: _Match | None,
        *,
        has_speech: bool,
        phrases: Sequence[str],
        keywords: Sequence[str] = (),
    ) -> CheckResult:
        whom = _whom(check.speaker)
        where = _where(check.window)
        if not has_speech:
            reasoning = f"nothing was said by {whom} {where}"
        else:
            wanted = []
            if phrases:
                wanted.append("no phrase like " + " or ".join(f"'{p}'" for p in phrases[:2]))
            if keywords:
                wanted.append("not all of " + ", ".join(f"'{word}'" for word in keywords))
            reasoning = f"{' and '.join(wanted)} from {whom} {where}"
            if best is not None and best.similarity >= _NEAR_MISS:
                reasoning += (
                    f"; the nearest was '{best.fragment}' at {format_time(best.candidate.start)}, "
                    f"{best.similarity:.0f}% like '{best.phrase}' "
                    f"({self.match_threshold:.0f}% needed)"
                )
        similarity = best.similarity if best is not None else 0.0
        return CheckResult(
            check=check,
            answer=CheckAnswer.NO,
            passed=False,
            confidence=self._confidence_no(similarity),
            evidence=None,
            reasoning=reasoning,
        )

    def _confidence_yes(self, similarity: float) -> float:
        """0.6 at the threshold up to 0.95 for an exact phrase: a hint is never proof."""
        span = max(100.0 - self.match_threshold, 1e-9)
        closeness = min(max((similarity - self.match_threshold) / span, 0.0), 1.0)
        return round(0.6 + 0.35 * closeness, 2)

    def _confidence_no(self, similarity: float) -> float:
        """0.9 when nothing resembles a phrase, down to 0.6 for a near miss."""
        distance = min(max((self.match_threshold - similarity) / self.match_threshold, 0.0), 1.0)
        return round(0.6 + 0.3 * distance, 2)


_NEGATIONS = frozenset({"not", "never", "no"})


def _negated(phrase: str, fragment: str) -> bool:
    """Whether the matched words carry a negation the phrase does not."""
    return bool((_NEGATIONS & set(fragment.split())) - set(phrase.split()))


def _normalised_hints(hints: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Each hint with its normalised form, hints that normalise to nothing left out."""
    pairs = ((hint, normalise(hint)) for hint in hints)
    return tuple((hint, normalised) for hint, normalised in pairs if normalised)


def _not_applicable(check: Check, reasoning: str) -> CheckResult:
    return CheckResult(
        check=check,
        answer=CheckAnswer.NOT_APPLICABLE,
        passed=False,
        confidence=0.0,
        evidence=None,
        reasoning=reasoning,
    )


def _keywords_said(
    candidates: Iterable[_Candidate], keywords: Sequence[str], threshold: float
) -> _Candidate | None:
    """The first stretch in which every keyword was said (a long word may be misheard a little)."""
    for candidate in candidates:
        words = candidate.normalised.split()
        if all(_word_said(keyword, words, threshold) for keyword in keywords):
            return candidate
    return None


def _word_said(keyword: str, words: Sequence[str], threshold: float) -> bool:
    if keyword in words:
        return True
    # Short words are matched exactly: one letter changes their meaning ("no" / "so").
    return len(keyword) >= 5 and any(fuzz.ratio(keyword, word) >= threshold for word in words)


def _best_match(
    candidates: Iterable[_Candidate], phrases: Sequence[tuple[str, str]]
) -> _Match | None:
    """The closest phrase occurrence; on a tie the earliest candidate and first phrase win."""
    best: _Match | None = None
    for candidate in candidates:
        for phrase, normalised in phrases:
            similarity, fragment = phrase_similarity(normalised, candidate.normalised)
            if _negated(normalised, fragment):
                # "I do not understand how" is not "I understand how".
                similarity = 0.0
            if best is None or similarity > best.similarity:
                best = _Match(phrase, similarity, fragment, candidate)
    return best


def _words_of(segment: Segment) -> tuple[Word, ...]:
    """The segment's timed words; without word times, its words spread evenly over it."""
    if segment.words:
        return segment.words
    tokens = segment.text.split()
    if not tokens:
        return ()
    step = (segment.end - segment.start) / len(tokens)
    return tuple(
        Word(token, segment.start + index * step, segment.start + (index + 1) * step)
        for index, token in enumerate(tokens)
    )


def _part_within(segment: Segment, low: float, high: float) -> _Candidate | None:
    """The part of a segment whose words lie in [low, high), by each word's midpoint."""
    words = _words_of(segment)
    kept = [word for word in words if low <= (word.start + word.end) / 2 < high]
    if not kept:
        return None
    if len(kept) == len(words):
        quote, start, end = segment.text.strip(), segment.start, segment.end
    else:
        quote = " ".join(word.text.strip() for word in kept)
        start, end = kept[0].start, kept[-1].end
    return _Candidate(
        normalised=normalise(quote), quote=quote, speaker=segment.speaker, start=start, end=end
    )


def _joined(first: _Candidate, second: _Candidate) -> _Candidate:
    """Two consecutive parts of one speaker as one, for a phrase split across segments."""
    quote = f"{first.quote} {second.quote}"
    return _Candidate(
        normalised=normalise(quote),
        quote=quote,
        speaker=first.speaker,
        start=first.start,
        end=second.end,
    )


def _spoken_by(segment_speaker: Speaker, check_speaker: Speaker) -> bool:
    """Whether a segment may hold the check's speaker's words."""
    if check_speaker in (Speaker.ANY, Speaker.UNKNOWN):
        return True
    return segment_speaker in (check_speaker, Speaker.UNKNOWN)


def _who_said(speaker: Speaker) -> str:
    return {
        Speaker.AGENT: "the agent",
        Speaker.CUSTOMER: "the customer",
    }.get(speaker, "someone (speakers not separated)")


def _whom(speaker: Speaker) -> str:
    return {Speaker.AGENT: "the agent", Speaker.CUSTOMER: "the customer"}.get(speaker, "anyone")


def _where(window: CheckWindow) -> str:
    return {
        CheckWindow.OPENING: "in the opening",
        CheckWindow.CLOSING: "in the closing",
        CheckWindow.FIRST_HALF: "in the first half of the call",
    }.get(window, "anywhere in the call")
