"""Decodes any audio ffmpeg can read to 16 kHz float32 samples per channel, through a pipe.

`ffmpeg_command` is the one decoding command line, shared with the streaming reader
(`audio_stream.py`) that the local provider uses. `FfmpegAudioDecoder` holds the whole
call in memory; the service no longer uses it, and it stays only as the speed bench's
contrast of what whole-call decoding costs in memory.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from callscope_transcription.domain.errors import (
    NO_AUDIO_STREAM_REASON,
    UndecodableAudioError,
)
from callscope_transcription.ports import SAMPLE_RATE, DecodedAudio, Samples

# Two channels that differ by less than this everywhere carry the same signal: a mono
# recording saved as stereo. About -80 dBFS, well under the codecs' own noise.
_SAME_SIGNAL_TOLERANCE = 1e-4
# Compared a block at a time, so a 3-hour call needs no second full-length array.
_COMPARE_BLOCK = 1 << 20


class FfmpegAudioDecoder:
    """Runs ffprobe and ffmpeg as subprocesses with argument lists (never a shell)."""

    def __init__(
        self,
        *,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        timeout_s: float = 900.0,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._timeout_s = timeout_s

    def decode(self, path: Path) -> DecodedAudio:
        """Stereo stays two channels (one per party); mono, or more than two channels, is one."""
        channels = self._probe_channels(path)
        target = 2 if channels == 2 else 1
        samples = self._decode(path, target)
        if samples.size == 0:
            raise UndecodableAudioError("ffmpeg produced no samples")
        if target == 1:
            return DecodedAudio((samples,))
        usable = samples.size - samples.size % 2
        left = np.ascontiguousarray(samples[0:usable:2])
        right = np.ascontiguousarray(samples[1:usable:2])
        del samples
        if _same_signal(left, right):
            return DecodedAudio((left,))
        return DecodedAudio((left, right))

    def _probe_channels(self, path: Path) -> int:
        """The channel count of the first audio stream; refuses files without one."""
        command = [
            self._ffprobe,
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=channels,codec_name",
            "-of",
            "json",
            "-i",
            str(path),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=min(self._timeout_s, 120.0), check=False
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
        return channels

    def _decode(self, path: Path, channels: int) -> Samples:
        """Resamples the first audio stream to 16 kHz float32, read from ffmpeg's stdout."""
        try:
            result = subprocess.run(
                ffmpeg_command(self._ffmpeg, path, channels),
                capture_output=True,
                timeout=self._timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise UndecodableAudioError("ffmpeg timed out") from error
        if result.returncode != 0:
            raise UndecodableAudioError(_last_line(result.stderr))
        return np.frombuffer(result.stdout, dtype="<f4").astype(np.float32, copy=False)


def ffmpeg_command(ffmpeg: str, path: Path, channels: int) -> list[str]:
    """ffmpeg arguments that write the first audio stream as 16 kHz float32 to stdout."""
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        str(channels),
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "pipe:1",
    ]


def _same_signal(left: Samples, right: Samples) -> bool:
    for start in range(0, left.size, _COMPARE_BLOCK):
        block = slice(start, start + _COMPARE_BLOCK)
        if float(np.max(np.abs(left[block] - right[block]))) >= _SAME_SIGNAL_TOLERANCE:
            return False
    return True


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no error output"
