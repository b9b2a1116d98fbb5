"""Similarity of items from their descriptor vectors: distances and exact k-NN search.

A descriptor (computed by the ``similarity_descriptors`` analyzer) is a fixed-length
float32 vector made of named parts (:data:`PARTS`): timbre, harmony and rhythm. Every
dimension is scaled by a fixed constant to a spread of about one, and every part is divided
by the square root of its length, so each part weighs alike: the distance ``by`` a part is
the Euclidean distance of that slice, and ``by="all"`` that of the whole vector (the root
of the sum of the parts' squared distances). No corpus statistics are needed, so a vector
never changes when others are added, and a database index on Euclidean distance (pgvector)
returns the same order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

By = Literal["timbre", "harmony", "rhythm", "all"]
TIMBRE_DIMS = 24  # MFCC 1-12: mean, standard deviation
HARMONY_DIMS = 37  # chroma mean, chroma standard deviation, tonic-relative chroma, mode
RHYTHM_DIMS = 16  # tempo, pulse clarity, onset rate, 8 tempo bands, 5 tempo ratios
PARTS: dict[str, slice] = {
    "timbre": slice(0, TIMBRE_DIMS),
    "harmony": slice(TIMBRE_DIMS, TIMBRE_DIMS + HARMONY_DIMS),
    "rhythm": slice(TIMBRE_DIMS + HARMONY_DIMS, TIMBRE_DIMS + HARMONY_DIMS + RHYTHM_DIMS),
}
DIMENSIONS = TIMBRE_DIMS + HARMONY_DIMS + RHYTHM_DIMS
BY: tuple[str, ...] = (*PARTS, "all")


def columns(by: By | str) -> slice:
    """The slice of a descriptor that ``by`` compares."""
    if by == "all":
        return slice(0, DIMENSIONS)
    try:
        return PARTS[by]
    except KeyError:
        raise ValueError(f"by must be one of {BY}, not {by!r}") from None


def distance(a: np.ndarray, b: np.ndarray, *, by: By | str = "all") -> float:
    """Euclidean distance of two descriptors over the part ``by``.

    >>> a, b = np.zeros(DIMENSIONS), np.zeros(DIMENSIONS)
    >>> b[PARTS["rhythm"]] = 1.0
    >>> distance(a, b, by="timbre"), distance(a, b, by="rhythm"), distance(a, b)
    (0.0, 4.0, 4.0)
    """
    part = columns(by)
    diff = np.asarray(a, np.float64)[part] - np.asarray(b, np.float64)[part]
    return float(np.sqrt(diff @ diff))


def nearest(
    matrix: np.ndarray, query: np.ndarray, *, k: int, by: By | str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``matrix`` (n, DIMENSIONS) to ``query``: (indices, distances),
    closest first (ties: lower index first). For repeated queries over the same matrix,
    :class:`Index` saves the rows' norms.

    >>> m = np.zeros((4, DIMENSIONS), np.float32)
    >>> m[:, 0] = [3.0, 1.0, 2.0, 0.5]
    >>> nearest(m, np.zeros(DIMENSIONS), k=2, by="timbre")
    (array([3, 1]), array([0.5, 1. ]))
    """
    part = columns(by)
    rows = matrix[:, part]
    return _search(rows, np.einsum("ij,ij->i", rows, rows), np.asarray(query)[part], k)


class Index:
    """Descriptors prepared for repeated exact searches: each part's columns contiguous and
    their rows' squared norms computed once, so a query costs one matrix-vector product.

    >>> m = np.eye(3, DIMENSIONS, dtype=np.float32)
    >>> Index(m).nearest(m[2], k=1)
    (array([2]), array([0.]))
    """

    def __init__(self, matrix: np.ndarray) -> None:
        matrix = np.asarray(matrix, np.float32)
        self.rows = {by: np.ascontiguousarray(matrix[:, columns(by)]) for by in BY}
        self.norms = {by: np.einsum("ij,ij->i", rows, rows) for by, rows in self.rows.items()}

    def __len__(self) -> int:
        return int(self.rows["all"].shape[0])

    def nearest(
        self,
        query: np.ndarray,
        *,
        k: int,
        by: By | str = "all",
        among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :func:`nearest` over the indexed matrix; ``among``, a boolean mask of rows, keeps
        the others out (what a viewer may not see, what a filter refuses).

        >>> Index(np.eye(3, DIMENSIONS, dtype=np.float32)).nearest(
        ...     np.zeros(DIMENSIONS), k=3, among=np.array([True, False, True]))[0]
        array([0, 2])
        """
        part = columns(by)
        return _search(self.rows[by], self.norms[by], np.asarray(query)[part], k, among)


def _search(
    rows: np.ndarray,
    norms: np.ndarray,
    query: np.ndarray,
    k: int,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``|r - q|^2 = |r|^2 - 2 r.q + |q|^2``, a partial sort, then the k winners' distances
    recomputed exactly (the expansion loses precision between near-duplicates)."""
    k = min(k, rows.shape[0] if among is None else int(np.count_nonzero(among)))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    q = np.asarray(query, rows.dtype)
    squared = norms - 2 * (rows @ q)
    if among is not None:
        squared[~among] = np.inf
    candidates = np.argpartition(squared, k - 1)[:k] if k < rows.shape[0] else np.arange(k)
    diff = rows[candidates].astype(np.float64) - q.astype(np.float64)
    exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    order = np.lexsort((candidates, exact))
    return candidates[order], exact[order]


def tempo_of(vector: np.ndarray) -> float:
    """The tempo (BPM) a descriptor was made with: its rhythm part starts with
    log2(tempo / 120), divided like the part by the square root of its length.

    >>> v = np.zeros(DIMENSIONS)
    >>> v[PARTS["rhythm"].start] = np.log2(140 / 120) / np.sqrt(RHYTHM_DIMS)
    >>> round(tempo_of(v), 6)
    140.0
    """
    return float(120.0 * 2.0 ** (vector[PARTS["rhythm"].start] * np.sqrt(RHYTHM_DIMS)))


def key_of(vector: np.ndarray) -> int:
    """The key a descriptor was made with, as an index into ``analyzers.tonal.KEYS`` (0-11
    major, 12-23 minor): the harmony part holds the mean chroma and the same chroma rotated to
    start at the tonic, then the mode's sign.

    >>> v = np.zeros(DIMENSIONS)
    >>> h = PARTS["harmony"].start
    >>> v[h : h + 12] = np.eye(12)[9] + 0.5 * np.eye(12)[4]  # A, E
    >>> v[h + 24 : h + 36] = np.roll(v[h : h + 12], -9)
    >>> v[h + 36] = -0.8  # minor
    >>> key_of(v)  # A minor
    21
    """
    harmony = np.asarray(vector[PARTS["harmony"]], np.float64)
    mean, rotated, mode = harmony[:12], harmony[24:36], harmony[36]
    errors = [np.abs(np.roll(mean, -shift) - rotated).sum() for shift in range(12)]
    return int(np.argmin(errors)) + (12 if mode < 0 else 0)
