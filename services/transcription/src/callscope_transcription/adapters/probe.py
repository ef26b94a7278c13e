"""Reads a call's audio layout with ffprobe: channel count, duration, codec (no decoding)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from callscope_transcription.domain.errors import NO_AUDIO_STREAM_REASON, UndecodableAudioError
from callscope_transcription.ports import AudioInfo

_TIMEOUT_S = 120.0
# Two channels are compared over the call's first minutes only: a recorder that writes the
# same signal to both sides does so for the whole call, and the check stays cheap for a
# 3-hour file. The rate is low because only sameness matters, not the words.
_COMPARE_SECONDS = 120
_COMPARE_RATE = 8_000
# Channels whose difference is this much quieter than their signal (-40 dB) carry one
# signal: lossy stereo codecs leave a little difference even between identical inputs,
# while two parties on their own sides differ by about as much as they speak.
_SAME_SIGNAL_RATIO = 0.01


class FfmpegProber:
    """Runs ffprobe as a subprocess with an argument list (never a shell)."""

    def __init__(
        self, *, ffprobe: str = "ffprobe", ffmpeg: str = "ffmpeg", timeout_s: float = _TIMEOUT_S
    ) -> None:
        self._ffprobe = ffprobe
        self._ffmpeg = ffmpeg
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
            same_signal_on_both_channels=channels == 2 and self._same_signal(path),
        )

    def _same_signal(self, path: Path) -> bool:
        """Whether both channels carry one signal (a mono recording saved as stereo)."""
        command = [
            self._ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-t",
            str(_COMPARE_SECONDS),
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-ac",
            "2",
            "-ar",
            str(_COMPARE_RATE),
            "-f",
            "f32le",
            "pipe:1",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=self._timeout_s, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise UndecodableAudioError("ffmpeg timed out comparing channels") from error
        if result.returncode != 0:
            raise UndecodableAudioError(_last_line(result.stderr))
        samples = np.frombuffer(result.stdout, dtype="<f4")
        samples = samples[: samples.size - samples.size % 2]
        if samples.size == 0:
            raise UndecodableAudioError("ffmpeg produced no samples")
        left, right = samples[0::2].astype(np.float64), samples[1::2].astype(np.float64)
        difference = float(np.sqrt(np.mean((left - right) ** 2)))
        signal = float(np.sqrt(np.mean(((left + right) / 2) ** 2)))
        return difference <= _SAME_SIGNAL_RATIO * signal


def _float(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no error output"
