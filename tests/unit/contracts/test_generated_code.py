"""The generated Python contracts match proto/, and every event declares its topic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from callscope.v1 import events_pb2
from callscope_common.events import topic_of

ROOT = Path(__file__).resolve().parents[3]

STAGE_TOPICS = {
    "calls.uploaded",
    "calls.status",
    "calls.transcribed",
    "calls.analyzed",
    "calls.deleted",
    "transcription.requested",
    "analysis.requested",
}


def test_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stage_topic_has_exactly_one_event_message() -> None:
    events = [
        message
        for message in events_pb2.DESCRIPTOR.message_types_by_name.values()
        if message.name != "EventHeader"
    ]
    topics = [topic_of(getattr(events_pb2, message.name)) for message in events]
    assert sorted(topics) == sorted(STAGE_TOPICS)
