"""Result model invariants and lossless round-trips through HDF5, JSON, YAML, XML, NPZ."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from timeside_gql.core import hdf5, serialize
from timeside_gql.core.results import (
    AnalyzerResult,
    AudioMetadata,
    DataObject,
    FrameMetadata,
    IdMetadata,
    LabelMetadata,
    data_keys,
)

RNG = np.random.default_rng(1)


def _result(data_mode: str, time_mode: str, rid: str, **data) -> AnalyzerResult:
    return AnalyzerResult(
        data_mode=data_mode,  # type: ignore[arg-type]
        time_mode=time_mode,  # type: ignore[arg-type]
        id_metadata=IdMetadata(id=rid, name=rid.title(), unit="dB", version="1.0"),
        audio_metadata=AudioMetadata(uri="file:///a.wav", start=1.5, duration=3.0, sha1="ab"),
        data_object=DataObject(**data),
        parameters={"n_fft": 2048, "bands": [1, 2], "nested": {"a": None}},
        provenance={"processor_id": "x", "libraries": {"numpy": "2"}, "run_time": 0.25},
    )


def sample_results() -> list[AnalyzerResult]:
    labels = LabelMetadata(label={0: "Silence", 1: "Not Silence"})
    return [
        _result("value", "global", "g", value=np.float64(-3.5)),
        _result("value", "global", "gi", value=np.array([1, 2], np.int16)),
        _result(
            "value",
            "framewise",
            "f",
            value=RNG.standard_normal((3000, 4)).astype(np.float32),
            y_value=np.arange(4.0),
            frame_metadata=FrameMetadata(22050.0, 2048, 512),
        ),
        _result("value", "framewise", "empty", value=np.zeros(0, np.float32)),
        _result("value", "event", "e", value=np.array([0.5, 0.9]), time=[0.1, 0.7]),
        _result("value", "segment", "s", value=[120.0], time=[0.0], duration=[2.0]),
        _result(
            "label",
            "event",
            "le",
            label=[1, 1, 1],
            time=[0.5, 1.0, 1.5],
            label_metadata=LabelMetadata(label={1: "Onset"}),
        ),
        _result(
            "label",
            "segment",
            "ls",
            label=[0, 1],
            time=[0, 1],
            duration=[1, 2],
            label_metadata=labels,
        ),
        _result("label", "global", "lg", label=[3], label_metadata=LabelMetadata(label={3: "D#"})),
        _result(
            "label",
            "framewise",
            "lf",
            label=np.ones(5, int),
            label_metadata=labels,
            frame_metadata=FrameMetadata(100.0, 1, 1),
        ),
    ]


def test_data_keys_follow_timeside():
    assert data_keys("value", "framewise") == ("value", "y_value", "frame_metadata")
    assert data_keys("label", "segment") == ("label", "label_metadata", "time", "duration")


@pytest.mark.parametrize("bad", [np.array(["a"]), np.array([1 + 2j]), np.zeros(2, np.float16)])
def test_unsupported_dtypes_are_rejected(bad):
    with pytest.raises(TypeError):
        DataObject(value=bad)


def test_scalars_become_one_element_arrays_and_times_follow_modes():
    res = _result(
        "value", "framewise", "f", value=np.zeros(4), frame_metadata=FrameMetadata(1000.0, 100, 50)
    )
    np.testing.assert_allclose(res.time, 1.5 + np.array([0, 0.05, 0.1, 0.15]))
    np.testing.assert_allclose(res.duration, [0.1] * 4)
    glob = _result("value", "global", "g", value=2.0)
    assert glob.data.shape == (1,) and glob.time == 1.5 and glob.duration == 3.0
    seg = _result("value", "segment", "s", value=[1.0], time=[0.5], duration=[2.0])
    assert seg.time.tolist() == [2.0] and seg.duration.tolist() == [2.0]
    with pytest.raises(ValueError):
        AnalyzerResult(data_mode="value", time_mode="sometimes")  # type: ignore[arg-type]


def test_hdf5_round_trip_is_lossless_and_follows_layout(tmp_path):
    results = sample_results()
    path = hdf5.write(tmp_path / "r.h5", results)
    back = hdf5.read(path)
    assert [r.id for r in back] == [r.id for r in results]
    for original, restored in zip(results, back, strict=True):
        assert restored == original, original.id
    with h5py.File(path) as h5:
        assert h5["f"].attrs["time_mode"] == "framewise"
        assert h5["f/data_object/frame_metadata"].attrs["samplerate"] == 22050.0
        assert h5["f/audio_metadata"].attrs["duration"] == 3.0
        assert h5["f/data_object/value"].compression == "gzip"
        assert h5["ls/data_object/label_metadata/label"].attrs["0"] == "Silence"
        assert h5["f/parameters"].attrs["n_fft"] == 2048
    assert hdf5.read(path, ids=["g"])[0].data.tolist() == [-3.5]
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_hdf5_write_failure_leaves_previous_file(tmp_path):
    path = hdf5.write(tmp_path / "r.h5", sample_results()[:1])
    duplicate = sample_results()[:1] * 2
    with pytest.raises(ValueError, match="duplicate"):
        hdf5.write(path, duplicate)
    assert [r.id for r in hdf5.read(path)] == ["g"]
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("dump", "load"),
    [
        (serialize.to_json, serialize.from_json),
        (serialize.to_yaml, serialize.from_yaml),
        (serialize.to_xml, serialize.from_xml),
    ],
)
def test_text_round_trips(dump, load):
    results = sample_results()
    back = load(dump(results))
    for original, restored in zip(results, back, strict=True):
        assert restored == original, original.id


def test_npz_round_trip(tmp_path):
    results = sample_results()
    serialize.to_npz(results, tmp_path / "r.npz")
    back = {r.id: r for r in serialize.from_npz(tmp_path / "r.npz")}
    for original in results:
        assert back[original.id] == original, original.id


def test_csv_export_rows():
    framewise, segment = sample_results()[2], sample_results()[7]
    lines = serialize.to_csv(framewise).splitlines()
    assert lines[0] == "time,duration,value_0,value_1,value_2,value_3" and len(lines) == 3001
    assert lines[2].startswith(f"{1.5 + 512 / 22050:.6f},")
    assert serialize.to_csv(segment).splitlines()[1:] == [
        "1.500000,1.000000,0,Silence",
        "2.500000,2.000000,1,Not Silence",
    ]


def test_hdf5_file_gets_umask_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = hdf5.write(tmp_path / "r.h5", sample_results()[:1])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
