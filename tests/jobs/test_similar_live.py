"""``Item.audioAnalysis`` and ``Item.similar`` end to end: synthetic pieces of known structure
uploaded to a real ``timeside-gql serve``, analysed by its worker, queried over HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import soundfile as sf
from sqlmodel import Session, select

from tests.db import factories
from tests.jobs.live import STRUCTURE, Deployment, graphql, instance_env, run_presets, upload
from timeside_gql.core.analyzers.tonal import KEYS
from timeside_gql.core.pieces import Part, boundaries, render
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import ItemDescriptor

pytestmark = pytest.mark.slow

SR = 22050
#: Two families that differ in timbre, harmony, tempo and meter; three variants each.
FAMILIES = {
    "organ": [Part(20.0, bpm=96 + d, key=k, timbre="organ") for d, k in ((0, 0), (3, 2), (-3, 5))],
    "bell": [
        Part(20.0, bpm=150 + d, meter=3, key=k, minor=True, timbre="bell", subdivision=3)
        for d, k in ((0, 9), (4, 4), (-4, 11))
    ],
}
#: A piece in two sections: the answers of audioAnalysis.
TWO_PARTS = (Part(16.0, bpm=120, timbre="organ"), Part(16.0, bpm=120, key=7, timbre="saw"))

PRIVATE = "mutation($id: UUID!) { updateItem(id: $id, input: {isPublic: false}) { __typename } }"
SIMILAR = """query($id: UUID!, $first: Int, $after: String, $by: SimilarityBy!,
  $filter: SimilarFilter) { item(id: $id) { similar(first: $first, after: $after, by: $by,
  filter: $filter) { edges { cursor distance node { id title } }
  pageInfo { hasNextPage endCursor } } } }"""
ANALYSIS = """query($id: UUID!, $start: Float, $stop: Float) { item(id: $id) {
  audioAnalysis(start: $start, stop: $stop) {
    track { duration tempo tempoConfidence timeSignature key keyName mode }
    sections { start duration confidence label tempo }
    bars { start } beats { start duration confidence } tatums { start }
    segments { start loudnessMax pitches timbre } } } }"""


def wav(parts: tuple[Part, ...] | list[Part], seed: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, render(parts, sr=SR, seed=seed), SR, format="WAV")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server (embedded worker) with the pieces uploaded and analysed."""
    tmp = tmp_path_factory.mktemp("similar")
    db_url = f"sqlite:///{tmp / 'timeside.db'}"
    upgrade(db_url)
    engine = create_engine(db_url)
    owner, other = (
        factories.token(engine, username="owner"),
        factories.token(engine, username="other"),
    )
    live = Deployment(env=instance_env(tmp / "data", db_url), logs=tmp)
    try:
        url = live.serve()
        titles = {}
        for family, parts in FAMILIES.items():
            for n, part in enumerate(parts):
                titles[upload(url, owner, f"{family} {n}", wav([part], seed=n))] = family
        two_parts = upload(url, owner, "two parts", wav(TWO_PARTS, seed=7))
        private = upload(url, other, "another's organ", wav([FAMILIES["organ"][0]], seed=9))
        graphql(url, other, PRIVATE, id=private)
        run_presets(url, owner, STRUCTURE, [*titles, two_parts], public=True)
        run_presets(url, other, STRUCTURE, [private], public=True)
        yield {
            "url": url,
            "owner": owner,
            "other": other,
            "families": titles,
            "two_parts": two_parts,
            "private": private,
            "engine": engine,
        }
    finally:
        live.stop()
        engine.dispose()


def similar(corpus: dict[str, Any], item_id: str, token: str | None = None, **args: Any) -> Any:
    args.setdefault("by", "ALL")
    data = graphql(corpus["url"], token or corpus["owner"], SIMILAR, id=item_id, **args)
    return data["item"]["similar"]


def test_nearest_neighbours_come_from_the_same_family(corpus):
    families = corpus["families"]
    for item_id, family in families.items():
        found = similar(corpus, item_id, first=2)
        edges = found["edges"]
        assert [families.get(e["node"]["id"]) for e in edges] == [family, family], edges
        distances = [e["distance"] for e in edges]
        assert distances == sorted(distances) and distances[0] > 0


def test_pages_follow_each_other_without_overlap(corpus):
    item_id = next(iter(corpus["families"]))
    whole = similar(corpus, item_id, first=6)["edges"]
    first = similar(corpus, item_id, first=3)
    assert first["pageInfo"]["hasNextPage"]
    second = similar(corpus, item_id, first=3, after=first["pageInfo"]["endCursor"])
    paged = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert paged == [e["node"]["id"] for e in whole]


def test_filters_keep_only_matching_items(corpus):
    """Tempo and key as the descriptors hold them (their accuracy is the analyzers')."""
    families = corpus["families"]
    organ = next(i for i, f in families.items() if f == "organ")
    bell = next(i for i, f in families.items() if f == "bell")
    with Session(corpus["engine"]) as session:
        rows = {str(row.item_id): row for row in session.exec(select(ItemDescriptor))}
    floor = rows[bell].tempo - 0.5
    fast = similar(corpus, organ, first=20, by="RHYTHM", filter={"tempoMin": floor})["edges"]
    mine = set(rows) - {organ, corpus["private"]}  # another user's private item: never shown
    expected = {i for i in mine if rows[i].tempo >= floor}
    assert bell in expected and {e["node"]["id"] for e in fast} == expected
    key = KEYS[rows[bell].key]
    in_key = similar(corpus, organ, first=20, filter={"key": key})["edges"]
    assert bell in [e["node"]["id"] for e in in_key]
    assert all(KEYS[rows[e["node"]["id"]].key] == key for e in in_key)


def test_private_items_of_others_never_appear(corpus):
    organ = next(i for i, f in corpus["families"].items() if f == "organ")
    seen = [e["node"]["id"] for e in similar(corpus, organ, first=20)["edges"]]
    assert corpus["private"] not in seen
    theirs = [e["node"]["id"] for e in similar(corpus, organ, corpus["other"], first=20)["edges"]]
    assert corpus["private"] in theirs


def test_audio_analysis_finds_the_sections_tempo_and_meter(corpus):
    data = graphql(corpus["url"], corpus["owner"], ANALYSIS, id=corpus["two_parts"])
    analysis = data["item"]["audioAnalysis"]
    track = analysis["track"]
    assert track["tempo"] == pytest.approx(120, rel=0.02)
    assert track["timeSignature"] == 4
    assert track["duration"] == pytest.approx(32.0, abs=0.1)
    # The sections' accuracy is the analyzer's (tests/core); here: they reach the client.
    sections = analysis["sections"]
    (boundary,) = boundaries(TWO_PARTS)
    assert len({s["label"] for s in sections}) >= 2
    assert min(abs(s["start"] - boundary) for s in sections) <= 2.0
    beats = [b["start"] for b in analysis["beats"]]
    assert len(beats) == pytest.approx(64, abs=2)
    assert all(len(s["pitches"]) == 12 and len(s["timbre"]) == 12 for s in analysis["segments"])

    window = graphql(
        corpus["url"], corpus["owner"], ANALYSIS, id=corpus["two_parts"], start=10, stop=12
    )
    inside = window["item"]["audioAnalysis"]["beats"]
    assert inside and all(10 - b["duration"] <= b["start"] < 12 for b in inside)
    assert len(inside) == pytest.approx(4, abs=1)
