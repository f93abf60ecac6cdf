"""Generated documentation: files derived from the code, written by ``meshctl docs --write``.

Each ``render_*`` function returns ``{path relative to the repository root: file text}``;
:data:`RENDERERS` lists them and :func:`render_all` merges their output. ``meshctl docs --check``
(and ``tests/unit/test_docs_in_sync.py``) compare the merged output with the files in the
checkout, so a model change without regenerated docs fails the build. Output is deterministic:
keys sorted, two-space indent, one trailing newline.

Each renderer also names the folder it owns (:data:`OWNED_FOLDERS`), where a file it no longer
generates (an event type that was removed) is stale too.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from meshplane.common.events import EVENT_TYPES, EventData

__all__ = [
    "EVENTS_DIR",
    "OWNED_FOLDERS",
    "RENDERERS",
    "check",
    "event_schema",
    "find_root",
    "render_all",
    "render_event_schemas",
    "write",
]

EVENTS_DIR: Final = "docs/events"
#: JSON Schema dialect pydantic generates.
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
#: Schema ids are URNs: they name the event type, and do not pretend to be a URL that resolves.
_ID_PREFIX: Final = "urn:meshplane:event:"
_SCHEMA_SUFFIX: Final = ".schema.json"


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def event_schema(name: str, model: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of event type ``name``'s data (what a consumer accepts), as a document."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    doc = inspect.cleandoc(model.__doc__ or "")
    schema["$schema"] = _DIALECT
    schema["$id"] = f"{_ID_PREFIX}{name}"
    schema["title"] = name
    schema["description"] = (
        f"{doc}\n\n" if doc else ""
    ) + f"The JSON data of CloudEvents type {name} (model {model.__name__})."
    return schema


def render_event_schemas() -> dict[str, str]:
    """``docs/events/<type>.schema.json`` for every registered event type."""
    return {
        f"{EVENTS_DIR}/{name}{_SCHEMA_SUFFIX}": _json(event_schema(name, model))
        for name, model in sorted(EVENT_TYPES.items())
    }


#: Every generator of docs. Add a ``render_*`` here (and its folder below, if it owns one).
RENDERERS: Final[tuple[Callable[[], dict[str, str]], ...]] = (render_event_schemas,)
#: Folders (and file suffixes) whose every matching file is generated: others there are stale.
OWNED_FOLDERS: Final[tuple[tuple[str, str], ...]] = ((EVENTS_DIR, _SCHEMA_SUFFIX),)


def render_all() -> dict[str, str]:
    """The text of every generated file, by path relative to the repository root."""
    files: dict[str, str] = {}
    for render in RENDERERS:
        for path, text in render().items():
            if path in files:
                raise ValueError(f"{path} is generated twice")
            files[path] = text
    return dict(sorted(files.items()))


def _orphans(root: Path, expected: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    for folder, suffix in OWNED_FOLDERS:
        directory = root / folder
        if directory.is_dir():
            found.extend(
                f"{folder}/{path.name}"
                for path in sorted(directory.iterdir())
                if path.name.endswith(suffix) and f"{folder}/{path.name}" not in expected
            )
    return found


def check(root: Path) -> list[str]:
    """Paths that differ from what the code generates: changed, missing, or no longer generated."""
    expected = render_all()
    stale = []
    for path, text in expected.items():
        target = root / path
        try:
            current = target.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            current = None
        if current != text:
            stale.append(path)
    return sorted(stale + _orphans(root, expected))


def write(root: Path) -> list[str]:
    """Write every generated file under ``root`` and remove ones no longer generated; returns the changes."""
    expected = render_all()
    changed = check(root)
    for path in changed:
        target = root / path
        if path in expected:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expected[path], encoding="utf-8")
        else:
            target.unlink()
    return changed


def find_root(start: Path) -> Path | None:
    """The workspace root at or above ``start``: the folder whose pyproject.toml declares the uv workspace."""
    for folder in (start.resolve(), *start.resolve().parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8"):
            return folder
    return None
