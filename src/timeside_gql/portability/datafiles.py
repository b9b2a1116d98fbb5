"""Columns holding paths of files under the data dir, which travel with their rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# table -> columns whose value is a path relative to the data dir (docs/data-model.md)
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("source_file",),
    "results": ("hdf5_path", "file_path"),
}
# The audio itself, left out by --no-audio (results and their files stay).
AUDIO_COLUMNS: frozenset[tuple[str, str]] = frozenset({("items", "source_file")})


def row_files(
    table: str, row: Mapping[Any, Any], *, audio: bool = True
) -> Iterator[tuple[str, str]]:
    """(column, relative path) of each file the row refers to."""
    for column in FILE_COLUMNS.get(table, ()):
        if row.get(column) and (audio or (table, column) not in AUDIO_COLUMNS):
            yield column, row[column]
