"""Probes audio files with ffprobe, reading their content rather than trusting extensions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from callscope_ingest.domain.audio_rules import ProbeResult

_PROBE_TIMEOUT_S = 60


class FfprobeAudioProber:
    """Runs `ffprobe` as a subprocess with an argument list (never a shell)."""

    def __init__(self, binary: str = "ffprobe") -> None:
        self._binary = binary

    async def probe(self, path: Path) -> ProbeResult:
        """Container, first audio stream and duration; an unreadable file gives container None."""
        process = await asyncio.create_subprocess_exec(
            self._binary,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "--",
            str(path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), _PROBE_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            return ProbeResult(None, None, 0, 0, None)
        if process.returncode != 0:
            return ProbeResult(None, None, 0, 0, None)
        return _parse(json.loads(stdout or b"{}"))


def _parse(report: dict[str, Any]) -> ProbeResult:
    format_info = report.get("format") or {}
    audio = next((s for s in report.get("streams", []) if s.get("codec_type") == "audio"), None)
    duration = _float(format_info.get("duration"))
    if duration is None and audio is not None:
        duration = _float(audio.get("duration"))
    return ProbeResult(
        container=format_info.get("format_name"),
        audio_codec=audio.get("codec_name") if audio else None,
        channels=int(audio.get("channels", 0)) if audio else 0,
        sample_rate=int(audio.get("sample_rate", 0) or 0) if audio else 0,
        duration_s=duration,
    )


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
