"""One populated SQLite instance and its full archive per module; fresh targets per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.portability.world import Instance, make_instance, populate
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.load import load


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    instance = make_instance("sqlite", tmp_path_factory.mktemp("source"))
    populate(instance)
    yield instance
    instance.dispose()


@pytest.fixture(scope="module")
def archive(source: Instance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archives") / "full.tar"
    dump(source.engine, source.data_dir, out, DumpOptions())
    return out


@pytest.fixture
def new_instance(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Instance]]:
    """Fresh migrated instances: ``new_instance("sqlite")`` or ``new_instance("postgresql")``."""
    made: list[Instance] = []

    def make(backend: str) -> Instance:
        server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
        instance = make_instance(backend, tmp_path / f"{backend}-{len(made)}", server)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.dispose()
        if instance.url.startswith("postgresql"):
            request.getfixturevalue("postgres_server").drop(instance.url)


@pytest.fixture
def origin_and_copy(tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    """A populated instance of its own (tests change it) and a full copy made by dump/load."""
    origin = make_instance("sqlite", tmp_path / "origin")
    populate(origin)
    copy = make_instance("sqlite", tmp_path / "copy")
    first = tmp_path / "first.tar"
    dump(origin.engine, origin.data_dir, first, DumpOptions(with_users=True))
    load(copy.engine, copy.data_dir, first)
    yield origin, copy
    origin.dispose()
    copy.dispose()
