"""Reads a call's audio layout with ffprobe: channel count, duration, codec (no decoding)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from callscope_transcription.domain.errors import NO_AUDIO_STREAM_REASON, UndecodableAudioError
from callscope_transcription.ports import AudioInfo

_TIMEOUT_S = 120.0


class FfmpegProber:
    """Runs ffprobe as a subprocess with an argument list (never a shell)."""

    def __init__(self, *, ffprobe: str = "ffprobe", timeout_s: float = _TIMEOUT_S) -> None:
        self._ffprobe = ffprobe
        self._timeout_s = timeout_s

    def probe(self, path: Path) -> AudioInfo:
        """The first audio stream's channels and the duration; refuses what is not audio."""
        command = [
            self._ffprobe,
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=channels,codec_name:format=duration",
            "-of",
            "json",
            "-i",
            str(path),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=self._timeout_s, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise UndecodableAudioError("ffprobe timed out") from error
        if result.returncode != 0:
            raise UndecodableAudioError(_last_line(result.stderr))
        try:
            report: dict[str, Any] = json.loads(result.stdout or b"{}")
        except json.JSONDecodeError as error:
            raise UndecodableAudioError("ffprobe printed no report") from error
        streams = report.get("streams") or []
        if not streams:
            raise UndecodableAudioError("no audio stream", reason=NO_AUDIO_STREAM_REASON)
        channels = int(streams[0].get("channels") or 0)
        if channels < 1:
            raise UndecodableAudioError(f"audio stream has {channels} channels")
        duration = _float(report.get("format", {}).get("duration"))
        return AudioInfo(
            channels=channels,
            duration_seconds=duration,
            codec=str(streams[0].get("codec_name") or ""),
        )


def _float(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no error output"
