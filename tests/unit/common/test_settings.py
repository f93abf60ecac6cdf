"""The settings classes that are not about Snowflake: logging and the consumer's batches."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from meshplane.common.settings import KafkaSettings, LogSettings


def test_the_log_level_is_read_in_any_case_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_LOG_LEVEL", "debug")
    assert LogSettings().level == "DEBUG"
    monkeypatch.setenv("MESH_LOG_LEVEL", "chatty")
    with pytest.raises(ValidationError, match="level"):
        LogSettings()


def test_batches_are_bounded_in_records_and_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_KAFKA_BATCH_MAX_RECORDS", raising=False)
    monkeypatch.delenv("MESH_KAFKA_BATCH_MAX_SECONDS", raising=False)
    defaults = KafkaSettings()
    assert (defaults.batch_max_records, defaults.batch_max_seconds) == (500, 5.0)
    with pytest.raises(ValidationError, match="batch_max_records"):
        KafkaSettings(batch_max_records=0)
    with pytest.raises(ValidationError, match="batch_max_seconds"):
        KafkaSettings(batch_max_seconds=0)
