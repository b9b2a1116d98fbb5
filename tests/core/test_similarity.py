"""Similarity descriptors on synthetic families of signals, and the exact k-NN search."""

from __future__ import annotations

import doctest
from functools import partial

import numpy as np
import pytest
import soundfile as sf

from timeside_gql.core import pieces, pipeline, similarity
from timeside_gql.core.pieces import Part
from timeside_gql.core.similarity import BY, DIMENSIONS, PARTS, Index, distance, nearest

SR = 22050
# four families that differ in timbre, harmony and rhythm
FAMILIES = (
    {"bpm": 100.0, "meter": 4, "key": 0, "minor": False, "timbre": "organ", "subdivision": 2},
    {"bpm": 140.0, "meter": 4, "key": 6, "minor": True, "timbre": "saw", "subdivision": 2},
    {"bpm": 90.0, "meter": 3, "key": 9, "minor": True, "timbre": "flute", "subdivision": 3},
    {"bpm": 120.0, "meter": 4, "key": 3, "minor": False, "timbre": "bell", "subdivision": 4},
)
VARIANTS = 5


def _descriptor(path) -> np.ndarray:
    (outcome,) = pipeline.run(path, [("similarity_descriptors", {})])
    assert outcome.ok, outcome.error
    (result,) = outcome.results
    return result.data


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, family of each): 5 variants per family with a random tempo (+-4 %),
    length, drum level and hits."""
    folder = tmp_path_factory.mktemp("similarity")
    rng = np.random.default_rng(7)
    vectors, families = [], []
    for family, spec in enumerate(FAMILIES):
        for variant in range(VARIANTS):
            part = Part(
                seconds=rng.uniform(10.0, 14.0),
                **{**spec, "bpm": spec["bpm"] * rng.uniform(0.96, 1.04)},
                drums=rng.uniform(0.6, 1.2),
            )
            path = folder / f"{family}-{variant}.wav"
            y = pieces.render([part], sr=SR, seed=int(rng.integers(1 << 30)))
            sf.write(path, y * rng.uniform(0.3, 1.0), SR, subtype="FLOAT")
            vectors.append(_descriptor(path))
            families.append(family)
    return np.array(vectors), np.array(families)


@pytest.mark.parametrize("by", BY)
def test_nearest_neighbours_come_from_the_same_family(corpus, by):
    matrix, families = corpus
    precision = []
    for i, query in enumerate(matrix):
        found, distances = nearest(matrix, query, k=VARIANTS, by=by)
        assert found[0] == i and distances[0] == pytest.approx(0.0, abs=1e-6)
        assert np.all(np.diff(distances) >= 0)
        precision.append(np.mean(families[found[1:]] == families[i]))
    assert np.mean(precision) >= 0.9, by


def test_descriptor_layout_and_scale(corpus):
    matrix, _ = corpus
    assert matrix.shape[1] == DIMENSIONS and matrix.dtype == np.float32
    assert np.isfinite(matrix).all()
    # each part weighs alike: comparable spreads of the pairwise distances
    spreads = {
        by: np.median([distance(a, b, by=by) for a in matrix for b in matrix]) for by in PARTS
    }
    assert max(spreads.values()) < 4 * min(spreads.values()), spreads


def test_gain_does_not_change_the_descriptor(tmp_path):
    y = pieces.render([Part(8.0, timbre="saw", key=4)], sr=SR, seed=3)
    loud, soft = tmp_path / "loud.wav", tmp_path / "soft.wav"
    sf.write(loud, y, SR, subtype="FLOAT")
    sf.write(soft, y * 0.1, SR, subtype="FLOAT")
    a, b = _descriptor(loud), _descriptor(soft)
    for by in BY:
        assert distance(a, b, by=by) < 0.05, by


def test_distance_is_euclidean_over_the_part():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, DIMENSIONS))
    parts = {by: distance(a, b, by=by) for by in PARTS}
    assert parts["timbre"] == pytest.approx(np.linalg.norm(a[:24] - b[:24]))
    assert distance(a, b) == pytest.approx(np.sqrt(sum(d * d for d in parts.values())))
    assert distance(a, a) == 0.0
    with pytest.raises(ValueError, match="by must be one of"):
        distance(a, b, by="tempo")


@pytest.mark.parametrize("indexed", [False, True], ids=["nearest", "Index"])
@pytest.mark.parametrize("by", BY)
def test_nearest_equals_brute_force(by, indexed):
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((5000, DIMENSIONS)).astype(np.float32)
    query = rng.standard_normal(DIMENSIONS).astype(np.float32)
    search = Index(matrix).nearest if indexed else partial(nearest, matrix)
    found, distances = search(query, k=10, by=by)
    cols = similarity.columns(by)
    brute = np.linalg.norm(matrix[:, cols].astype(np.float64) - query[cols], axis=1)
    np.testing.assert_array_equal(found, np.argsort(brute, kind="stable")[:10])
    np.testing.assert_allclose(distances, np.sort(brute)[:10], rtol=1e-6)


def test_nearest_edge_cases():
    matrix = np.zeros((3, DIMENSIONS), np.float32)
    found, distances = nearest(matrix, np.zeros(DIMENSIONS), k=10)
    np.testing.assert_array_equal(found, [0, 1, 2])  # ties: lower index first
    np.testing.assert_array_equal(distances, [0.0, 0.0, 0.0])
    assert nearest(matrix, np.zeros(DIMENSIONS), k=0)[0].size == 0
    assert nearest(matrix[:0], np.zeros(DIMENSIONS), k=3)[0].size == 0
    assert len(Index(matrix)) == 3
    with pytest.raises(ValueError, match="by must be one of"):
        Index(matrix).nearest(np.zeros(DIMENSIONS), k=1, by="tempo")


def test_similarity_doctests():
    assert doctest.testmod(similarity).failed == 0
