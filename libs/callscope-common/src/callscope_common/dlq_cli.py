"""`callscope-dlq`: list and replay a topic's dead letters (docs/pipeline.md, "Dead letters").

Exit status: 0 done (an empty DLQ included), 1 the operation failed (unknown topic,
broker unreachable), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence

from callscope_common.dlq import (
    DEFAULT_TIMEOUT_S,
    DeadLetter,
    DlqError,
    ReplaySummary,
    list_dead_letters,
    replay_dead_letters,
)
from callscope_common.events import DLQ_SUFFIX

PROGRAM = "callscope-dlq"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; failures are one line on stderr and a non-zero exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.bootstrap_servers:
        parser.error("set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap-servers")
    # aiokafka logs every failed connection attempt; the one line below says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        if args.command == "list":
            asyncio.run(_list(args))
        else:
            asyncio.run(_replay(args))
    except DlqError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    return 0


async def _list(args: argparse.Namespace) -> None:
    letters = await list_dead_letters(
        args.bootstrap_servers,
        args.topic,
        include_replayed=args.all,
        timeout_s=args.timeout,
    )
    if args.json:
        for letter in letters:
            print(json.dumps(letter.as_json()))
        return
    which = "dead letters" if args.all else "dead letters not replayed yet"
    print(f"{args.topic}{DLQ_SUFFIX}: {len(letters)} {which}")
    if letters:
        _print_table(letters, with_replayed=args.all)


async def _replay(args: argparse.Namespace) -> None:
    summary = await replay_dead_letters(
        args.bootstrap_servers,
        args.topic,
        dry_run=args.dry_run,
        only_key=args.only_key,
        limit=args.limit,
        timeout_s=args.timeout,
    )
    if args.json:
        print(json.dumps(summary.as_json()))
        return
    verb = "would replay" if summary.dry_run else "replayed"
    for letter in summary.replayed:
        print(f"{verb} {letter.location} key={_key(letter)} -> {args.topic}")
    print(_summary_line(args.topic, summary))


def _summary_line(topic: str, summary: ReplaySummary) -> str:
    """One line: replayed, skipped (and where they went), still pending."""
    if summary.dry_run:
        return (
            f"dry run, nothing sent: would replay {len(summary.replayed)}, "
            f"would skip {len(summary.skipped)}, remaining {summary.remaining}"
        )
    moved = f" (moved to the end of {topic}{DLQ_SUFFIX})" if summary.skipped else ""
    return (
        f"replayed {len(summary.replayed)}, skipped {len(summary.skipped)}{moved}, "
        f"remaining {summary.remaining}"
    )


def _print_table(letters: Sequence[DeadLetter], *, with_replayed: bool) -> None:
    """Aligned columns, the error last and whole (on one line)."""
    header = ["DLQ", "SOURCE", "KEY", "ATTEMPTS", "DEAD-LETTERED AT"]
    rows = [
        [
            f"{letter.dlq_partition}/{letter.dlq_offset}",
            f"{letter.source_partition}/{letter.source_offset}",
            _key(letter),
            str(letter.attempts),
            letter.dead_lettered_at.isoformat(timespec="seconds"),
        ]
        for letter in letters
    ]
    if with_replayed:
        header.append("REPLAYED")
        for row, letter in zip(rows, letters, strict=True):
            row.append("yes" if letter.replayed else "no")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    errors = [" ".join(letter.error.split()) for letter in letters]
    for cells, error in zip([header, *rows], ["ERROR", *errors], strict=True):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)), error
        )


def _key(letter: DeadLetter) -> str:
    return "-" if letter.key is None else letter.key.decode(errors="backslashreplace")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("topic", help="the source topic, e.g. calls.status (not its .dlq)")
    common.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)",
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds to wait for the broker before giving up (default: %(default)s)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="List and replay the dead letters of a Callscope topic."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "list", parents=[common], help="the dead letters not replayed yet (JSON lines: --json)"
    )
    listing.add_argument("--all", action="store_true", help="include those already replayed")
    replay = commands.add_parser(
        "replay", parents=[common], help="republish dead letters to their source topic"
    )
    replay.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    replay.add_argument(
        "--only-key",
        metavar="CALL_ID",
        help="replay only this call's records; the others are moved to the end of the DLQ",
    )
    replay.add_argument("--limit", type=_positive, help="replay at most N records")
    return parser


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


if __name__ == "__main__":
    sys.exit(main())
