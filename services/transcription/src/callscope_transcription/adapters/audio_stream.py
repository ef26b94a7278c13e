"""Streams a call's audio from ffmpeg's stdout in fixed-size blocks: memory does not grow with it.

ffmpeg decodes any format it reads to 16 kHz float32 and writes it to a pipe; the
reader takes one block (a few seconds) at a time, and ffmpeg waits on the full
pipe while the caller is busy. Errors are read from stderr by a small thread that
keeps only the last lines, so a file full of corrupt frames cannot fill the pipe.
"""

from __future__ import annotations

import collections
import os
import select
import subprocess
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from callscope_transcription.adapters.audio import ffmpeg_command
from callscope_transcription.domain.errors import NO_AUDIO_STREAM_REASON, UndecodableAudioError

Block = npt.NDArray[np.float32]
"""Samples of one block, shape (channels, samples), each channel contiguous."""

_BYTES_PER_SAMPLE = 4
# ffmpeg's words for "there is no audio stream to map" (a video without sound, a text file).
_NO_AUDIO_MARKERS = ("matches no streams", "does not contain any stream")
_STDERR_LINES = 20


class FfmpegAudioStream:
    """Decodes files with ffmpeg, block by block (see the module docstring)."""

    def __init__(self, *, ffmpeg: str = "ffmpeg", stall_timeout_s: float = 120.0) -> None:
        self._ffmpeg = ffmpeg
        self._stall_timeout_s = stall_timeout_s

    def blocks(
        self, path: Path, *, channels: int, block_samples: int
    ) -> Generator[Block, None, None]:
        """Yields (channels, n) blocks of n = block_samples (the last may be shorter).

        Raises UndecodableAudioError when ffmpeg fails, stalls, or decodes nothing;
        closing the generator early stops ffmpeg.
        """
        process = subprocess.Popen(
            ffmpeg_command(self._ffmpeg, path, channels),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        assert process.stdout is not None and process.stderr is not None
        errors = _StderrTail(process.stderr)
        try:
            produced = 0
            for block in self._read(process.stdout, channels, block_samples):
                produced += block.shape[1]
                yield block
            returncode = process.wait(timeout=self._stall_timeout_s)
            errors.join()
            if returncode != 0:
                raise _undecodable(errors)
            if produced == 0:
                raise UndecodableAudioError(f"ffmpeg produced no samples ({errors.text()})")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            errors.join()

    def _read(self, stdout: IO[bytes], channels: int, block_samples: int) -> Iterator[Block]:
        frame_bytes = channels * _BYTES_PER_SAMPLE
        buffer = bytearray(block_samples * frame_bytes)
        view = memoryview(buffer)
        descriptor = stdout.fileno()
        while True:
            filled = 0
            while filled < len(buffer):
                ready, _, _ = select.select([descriptor], [], [], self._stall_timeout_s)
                if not ready:
                    raise UndecodableAudioError(
                        f"ffmpeg wrote nothing for {self._stall_timeout_s:.0f} s"
                    )
                count = os.readv(descriptor, [view[filled:]])
                if count == 0:
                    break
                filled += count
            frames = filled // frame_bytes
            if frames:
                interleaved = np.frombuffer(buffer, dtype="<f4", count=frames * channels)
                # A copy in channel-major order: the read buffer is reused for the next block.
                yield interleaved.reshape(frames, channels).T.copy()
            if filled < len(buffer):
                return


class _StderrTail:
    """Drains a process's stderr in a thread, keeping the last lines for the error message."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines: collections.deque[bytes] = collections.deque(maxlen=_STDERR_LINES)
        self._stream = stream
        self._thread = threading.Thread(target=self._drain, name="ffmpeg-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with self._stream:
            for line in self._stream:
                if line.strip():
                    self._lines.append(line)

    def join(self) -> None:
        """Waits until ffmpeg closed its stderr (it has exited or been killed)."""
        self._thread.join(timeout=10.0)

    def text(self) -> str:
        """ffmpeg's last error line, cut to a loggable length."""
        return self._lines[-1].decode(errors="replace").strip()[:300] if self._lines else ""

    def mentions(self, markers: tuple[str, ...]) -> bool:
        """Whether any kept line contains one of the markers."""
        return any(marker.encode() in line for line in self._lines for marker in markers)


def _undecodable(errors: _StderrTail) -> UndecodableAudioError:
    detail = errors.text() or "ffmpeg failed without an error message"
    if errors.mentions(_NO_AUDIO_MARKERS):
        return UndecodableAudioError(detail, reason=NO_AUDIO_STREAM_REASON)
    return UndecodableAudioError(detail)
