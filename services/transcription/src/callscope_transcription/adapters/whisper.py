"""faster-whisper models: verified against their pinned hash, then loaded once per process."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faster_whisper import WhisperModel

from callscope_transcription.domain.errors import ModelIntegrityError

logger = logging.getLogger(__name__)

MODEL_FILE = "model.bin"


@dataclass(frozen=True)
class LoadedModel:
    """A faster-whisper model loaded once per process, and how it was loaded."""

    model: Any
    """The faster_whisper.WhisperModel; thread-safe once loaded."""
    name: str
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    num_workers: int = 1

    @property
    def english_only(self) -> bool:
        """English-only models (tiny.en, ...) must not be asked to detect the language."""
        return not getattr(self.model.model, "is_multilingual", False)


def load_model(
    model_dir: Path,
    *,
    expected_sha256: str | None,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    num_workers: int = 1,
    model_name: str | None = None,
) -> LoadedModel:
    """Verifies (when a hash is given) and loads the model from a local folder, offline.

    num_workers above 1 lets that many threads run the model at once, each with
    cpu_threads threads of its own; cpu_threads 0 then shares the CPUs among the
    workers (CTranslate2's own default would give each of them all of them).
    """
    if expected_sha256:
        verify_model(model_dir, expected_sha256)
    if cpu_threads == 0 and num_workers > 1:
        cpu_threads = max(1, len(os.sched_getaffinity(0)) // num_workers)
    model = WhisperModel(
        str(model_dir),
        device=device,
        compute_type=compute_type,
        cpu_threads=cpu_threads,
        num_workers=num_workers,
        local_files_only=True,
    )
    name = model_name or model_dir.name
    logger.info(
        "speech model loaded",
        extra={"model": name, "device": device, "compute_type": compute_type},
    )
    return LoadedModel(model, name, device, compute_type, cpu_threads, num_workers)


def verify_model(model_dir: Path, expected_sha256: str) -> None:
    """Checks the model file's SHA-256 against the pinned one; a mismatch stops the service."""
    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise ModelIntegrityError(f"speech model file {path} does not exist")
    digest = hashlib.sha256()
    with path.open("rb") as model_file:
        while chunk := model_file.read(1 << 20):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected_sha256.lower():
        raise ModelIntegrityError(
            f"speech model {path} has SHA-256 {actual}, expected {expected_sha256.lower()}; "
            "reinstall the pinned model or set TRANSCRIPTION_MODEL_SHA256 to the new model's hash"
        )
