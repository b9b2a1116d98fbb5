"""Windows and decimation of results (core.series): known answers on synthesized data."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from timeside_gql.core import hdf5, pipeline, samples, series
from timeside_gql.core.results import (
    AnalyzerResult,
    AudioMetadata,
    DataObject,
    FrameMetadata,
    IdMetadata,
    LabelMetadata,
)
from timeside_gql.core.series import SeriesError, frame_range, window

SR = 8000


def framewise(value: Any, *, rate: float, hop: int = 1, start: float = 0.0, rid: str = "f"):
    value = np.asarray(value)
    return AnalyzerResult(
        "value",
        "framewise",
        id_metadata=IdMetadata(id=rid),
        audio_metadata=AudioMetadata(start=start, duration=len(value) * hop / rate),
        data_object=DataObject(value=value, frame_metadata=FrameMetadata(rate, hop, hop)),
    )


class Recorder:
    """An array that records the slices read from it (stands for an h5py dataset)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.keys: list[Any] = []

    def __getitem__(self, key: Any) -> Any:
        self.keys.append(key)
        return self.array[key]


def test_docstring_examples() -> None:
    assert doctest.testmod(series).failed == 0


def test_sine_envelope_is_plus_minus_amplitude_in_every_bucket() -> None:
    t = np.arange(10 * SR) / SR
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    s = window(result=framewise(sine, rate=SR), max_points=300, reduce="minmax")
    assert s.points == 300 and s.reduction == "minmax" and s.values is None
    np.testing.assert_allclose(s.mins, -0.5, atol=2e-3)
    np.testing.assert_allclose(s.maxs, 0.5, atol=2e-3)


def test_waveform_pyramid_of_a_real_sine(tmp_path: Path) -> None:
    path = samples.write(tmp_path / "sine.wav", samples.sine(440.0, 4.0, SR, 0.5), SR)
    (outcome,) = pipeline.run(path, [("waveform_analyzer", {"min_peaks": 16})])
    levels = [(r, r.data) for r in outcome.results or []]
    assert len(levels) >= 3
    envelope, level = series.waveform(levels=levels, pixels=16)
    hdf5.write(tmp_path / "peaks.hdf5", outcome.results or [])
    with h5py.File(tmp_path / "peaks.hdf5", "r") as h5:  # brief reads place frames the same
        brief = [hdf5.read_lazy(h5, rid, brief=True) for rid in h5]
        assert [b.meta.data_object.frame_metadata for b in brief] == [
            r.data_object.frame_metadata for r, _ in levels
        ]
        stored, _ = series.waveform(levels=[(b.meta, b.data) for b in brief], pixels=16)
    np.testing.assert_array_equal(stored.maxs, envelope.maxs)
    np.testing.assert_array_equal(stored.times, envelope.times)
    assert envelope.points == 16 and level == 1  # 32 buckets of 1024 samples
    np.testing.assert_allclose(envelope.mins, -0.5, atol=2e-3)
    np.testing.assert_allclose(envelope.maxs, 0.5, atol=2e-3)
    assert envelope.times[0] == pytest.approx(envelope.step / 2) == 2 * 1024 / SR / 2
    # zoomed in to 10 ms: level 0 (256-sample buckets) has fewer buckets than pixels
    zoom, level = series.waveform(levels=levels, start=1.0, stop=1.01, pixels=100)
    assert level == 0 and zoom.points == 1  # 80 samples: one bucket, [0.992, 1.024)
    assert zoom.times[0] == pytest.approx((1.0 // (256 / SR) + 0.5) * 256 / SR)
    with pytest.raises(SeriesError, match="pixels"):
        series.waveform(levels=levels, pixels=0)


@pytest.mark.parametrize(("frames", "points"), [(1000, 10), (1003, 7), (5, 10), (97, 96)])
def test_ramp_bucket_means_equal_the_analytic_means(frames: int, points: int) -> None:
    slopes = np.array([1.0, -2.0, 0.5])
    ramp = np.arange(frames)[:, None] * slopes  # three columns: a multi-dimensional feature
    s = window(result=framewise(ramp, rate=100.0), max_points=points)
    assert s.points == min(frames, points) and s.values is not None
    starts = np.arange(s.points) * frames // s.points
    ends = np.append(starts[1:], frames)
    expected_index = (starts + ends - 1) / 2  # the mean of consecutive integers
    np.testing.assert_allclose(s.values, expected_index[:, None] * slopes)
    np.testing.assert_allclose(s.times, expected_index / 100.0)
    assert s.count == frames and s.dimensions == 3


def test_a_window_selects_the_frames_centred_in_it() -> None:
    hop, rate, start = 512, 22050.0, 10.0  # a segment of a file, starting at 10 s
    values = np.arange(400.0)
    result = framewise(values, rate=rate, hop=hop, start=start)
    s = window(result=result, start=12.0, stop=13.0)
    frame_times = start + np.arange(400) * hop / rate
    inside = (frame_times >= 12.0) & (frame_times < 13.0)
    np.testing.assert_array_equal(s.values, values[inside])
    np.testing.assert_allclose(s.times, frame_times[inside])
    assert s.reduction == "none" and s.count == inside.sum() == 43
    assert s.step == pytest.approx(hop / rate)


def test_only_the_window_is_read() -> None:
    data = Recorder(np.arange(100_000.0))
    result = framewise(np.zeros(0), rate=100.0)
    result.audio_metadata.duration = 1000.0
    s = window(result=result, data=data, start=500.0, stop=501.0)
    assert data.keys == [slice(50_000, 50_100)]
    np.testing.assert_array_equal(s.values, np.arange(50_000.0, 50_100.0))


def test_hdf5_lazy_read_equals_the_in_memory_window(tmp_path: Path) -> None:
    feature = framewise(np.random.default_rng(0).normal(size=(5000, 12)), rate=100.0, rid="mfcc")
    key = AnalyzerResult(
        "label",
        "global",
        id_metadata=IdMetadata(id="key"),
        data_object=DataObject(label=[3], label_metadata=LabelMetadata(label={3: "D# major"})),
    )
    path = hdf5.write(tmp_path / "r.hdf5", [feature, key])
    with h5py.File(path, "r") as h5:
        lazy = hdf5.read_lazy(h5, "mfcc")
        assert lazy.meta.data.size == 0 and lazy.data.shape == (5000, 12)
        stored = window(result=lazy.meta, data=lazy.data, start=3.0, stop=40.0, max_points=50)
        label = hdf5.read_lazy(h5, "key")
        assert label.meta.data_object.label_metadata.label == {3: "D# major"}
        assert label.data[()].tolist() == [3]
    expected = window(result=feature, start=3.0, stop=40.0, max_points=50)
    np.testing.assert_allclose(stored.values, expected.values)
    np.testing.assert_allclose(stored.times, expected.times)


def events(kind: str, times: list[float], durations: list[float] | None = None) -> AnalyzerResult:
    return AnalyzerResult(
        "value",
        kind,  # type: ignore[arg-type]
        audio_metadata=AudioMetadata(start=0.0, duration=10.0),
        data_object=DataObject(
            value=np.arange(len(times)) * 10.0, time=times, duration=durations or []
        ),
    )


def test_events_in_the_window_and_the_cap() -> None:
    onsets = events("event", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    s = window(result=onsets, start=1.0, stop=2.5)
    np.testing.assert_array_equal(s.times, [1.0, 1.5, 2.0])  # start included, stop excluded
    np.testing.assert_array_equal(s.values, [10.0, 20.0, 30.0])
    assert (s.count, s.truncated, s.durations) == (3, False, None)
    capped = window(result=onsets, start=0.0, stop=10.0, max_points=4)
    np.testing.assert_array_equal(capped.times, [0.5, 1.0, 1.5, 2.0])
    assert (capped.count, capped.truncated) == (6, True)


def test_segments_intersecting_the_window() -> None:
    parts = events(
        "segment", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 0.5, 2.0, 0.0, 0.5, 3.0]
    )  # [0,1) [1,1.5) [2,4) [3,3] [4,4.5) [5,8)
    s = window(result=parts, start=1.5, stop=4.0)
    np.testing.assert_array_equal(s.times, [2.0, 3.0])  # [1,1.5) ends at start; [4,..) at stop
    np.testing.assert_array_equal(s.durations, [2.0, 0.0])
    np.testing.assert_array_equal(s.values, [20.0, 30.0])
    s = window(result=parts, start=6.0, stop=6.5)
    np.testing.assert_array_equal(s.times, [5.0])  # a segment spanning the whole window


def test_empty_windows() -> None:
    ramp = framewise(np.arange(100.0), rate=10.0)
    for start, stop in ((3.0, 3.0), (20.0, 30.0), (-5.0, -1.0)):
        s = window(result=ramp, start=start, stop=stop)
        assert s.points == 0 and s.values is not None and s.values.size == 0 and s.count == 0
    assert window(result=events("event", [1.0]), start=1.0, stop=1.0).points == 0
    assert window(result=events("segment", [0.0], [5.0]), start=1.0, stop=1.0).points == 0


def test_bad_windows_and_budgets() -> None:
    ramp = framewise(np.arange(100.0), rate=10.0)
    with pytest.raises(SeriesError, match="after stop"):
        window(result=ramp, start=5.0, stop=4.0)
    with pytest.raises(SeriesError, match="max_points"):
        window(result=ramp, max_points=0)
    with pytest.raises(SeriesError, match="reduce"):
        window(result=ramp, reduce="median")  # type: ignore[arg-type]


@pytest.mark.parametrize("frames", [0, 1, 999, 1000, 1001, 123_457])
@pytest.mark.parametrize("points", [1, 3, 1000])
def test_max_points_is_respected(frames: int, points: int) -> None:
    s = window(result=framewise(np.ones(frames), rate=1000.0), max_points=points)
    assert s.points == min(frames, points)
    np.testing.assert_array_equal(s.values, np.ones(s.points))
    assert np.all(np.diff(s.times) > 0)


def test_global_outputs_ignore_the_window() -> None:
    tempo = AnalyzerResult(
        "value",
        "global",
        id_metadata=IdMetadata(id="tempo"),
        audio_metadata=AudioMetadata(start=2.0, duration=30.0),
        data_object=DataObject(value=120.5),
    )
    s = window(result=tempo, start=5.0, stop=6.0)
    assert (s.values.tolist(), s.times.tolist(), s.durations.tolist()) == ([120.5], [2.0], [30.0])
    assert s.dimensions == 1 and s.count == 1
    bands = AnalyzerResult("value", "global", data_object=DataObject(value=np.arange(7.0)))
    assert window(result=bands).values.shape == (1, 7)


def test_framewise_labels_take_the_most_frequent_per_point() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 5, 5])
    result = AnalyzerResult(
        "label",
        "framewise",
        audio_metadata=AudioMetadata(duration=12.0),
        data_object=DataObject(label=labels, frame_metadata=FrameMetadata(1.0, 1, 1)),
    )
    s = window(result=result, max_points=4)  # runs of 3: [0 0 1] [1 1 2] [2 2 2] [0 5 5]
    assert s.labels.tolist() == [0, 1, 2, 5] and s.reduction == "mode"


def test_frame_range_edges() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: still frame 3
    assert frame_range(
        count=10, origin=0.0, hop=0.1, start=0.3, stop=0.6, stamped_at_start=False
    ) == (3, 6)
    assert frame_range(
        count=10, origin=0.0, hop=0.1, start=0.35, stop=2.0, stamped_at_start=True
    ) == (3, 10)
    before = frame_range(count=10, origin=5.0, hop=1.0, start=0.0, stop=5.5, stamped_at_start=True)
    assert before == (0, 1)
