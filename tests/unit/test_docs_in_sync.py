"""The committed generated docs (docs/events/*.schema.json) are what the code generates today."""

from __future__ import annotations

from pathlib import Path

from meshplane.meshctl import docs

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_in_sync_with_the_code() -> None:
    stale = docs.check(ROOT)
    assert not stale, (
        "generated docs differ from what the event models produce: "
        f"{', '.join(stale)}; run `meshctl docs --write` (`uv run --frozen meshctl docs --write`) "
        "and commit the result"
    )
