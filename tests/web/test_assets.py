"""The built pages committed in the package match web/'s sources and ship in the wheel."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

from timeside_gql.web.routes import STATIC

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def sources_digest() -> str:
    """What web/scripts/stamp.mjs records at build time: every file of web/ but node_modules."""
    names = sorted(
        path.relative_to(WEB).as_posix()
        for path in WEB.rglob("*")
        if path.is_file() and "node_modules" not in path.relative_to(WEB).parts
    )
    lines = "".join(
        f"{name}\n{hashlib.sha256((WEB / name).read_bytes()).hexdigest()}\n" for name in names
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def test_committed_build_matches_the_sources():
    recorded = (STATIC / "SOURCES.sha256").read_text().strip()
    assert recorded == sources_digest(), "web/ changed since the assets were built: run `make web`"


def test_the_wheel_carries_the_built_pages(tmp_path: Path):
    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = set(zipfile.ZipFile(wheel).namelist())
    built = {
        "timeside_gql/web/" + path.relative_to(STATIC.parent).as_posix()
        for path in STATIC.rglob("*")
        if path.is_file()
    }
    assert {"timeside_gql/web/static/index.html", "timeside_gql/web/static/graphiql.html"} <= built
    assert built <= names
