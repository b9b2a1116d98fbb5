"""The analyze and processors commands."""

from __future__ import annotations

import json

import pytest

from timeside_gql.cli import main
from timeside_gql.core import hdf5, samples, serialize
from timeside_gql.core.experience import DEFAULT_EXPERIENCE


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return samples.write(
        tmp_path_factory.mktemp("cli") / "tone.wav", samples.sine(440, 2.0, 22050, 0.5), 22050
    )


def test_default_experience_to_hdf5(tone, tmp_path):
    assert main(["analyze", str(tone), "--out", str(tmp_path)]) == 0
    ids = {r.id for r in hdf5.read(tmp_path / "tone.h5")}
    assert {"level.rms", "loudness_itu.integrated", "tempo", "pitch", "mfcc", "chroma"} <= ids
    assert {"spectral_descriptors.centroid", "waveform_analyzer", "onsets"} <= ids
    assert len(DEFAULT_EXPERIENCE) == 10


def test_presets_with_parameters_to_json_and_csv(tone, tmp_path):
    args = ["analyze", str(tone), "-p", "level", "-p", 'pitch:{"fmin": 100}', "-o", str(tmp_path)]
    assert main([*args, "--format", "json"]) == 0
    results = {r.id: r for r in serialize.from_json((tmp_path / "tone.json").read_text())}
    assert results["pitch"].parameters["fmin"] == 100
    assert main([*args, "--format", "csv"]) == 0
    assert (tmp_path / "tone.level.rms.csv").read_text().startswith("time,duration,value")


def test_failures_give_nonzero_exit(tone, tmp_path, capsys):
    assert main(["analyze", str(tone), "-p", 'level:{"x": 1}', "-o", str(tmp_path)]) == 1
    missing = tmp_path / "missing.wav"
    assert main(["analyze", str(missing), "-p", "level", "-o", str(tmp_path)]) == 1
    with pytest.raises(SystemExit):
        main(["analyze", str(tone), "-p", "level:{not json"])


def test_processors_listing(capsys):
    assert main(["processors", "--json"]) == 0
    listing = {p["pid"]: p for p in json.loads(capsys.readouterr().out)}
    assert listing["loudness_itu"]["outputs"][0]["unit"] == "LUFS"
    assert listing["pitch"]["parameters_schema"]["properties"]["method"]["default"] == "yin"
    assert main(["processors"]) == 0
    assert "spectrogram_analyzer" in capsys.readouterr().out


def test_warm_up_runs():
    from timeside_gql.core.experience import warm_up

    outcomes = warm_up((("level", {}), ("tempo", {})))
    assert [(o.pid, o.ok, o.error) for o in outcomes] == [
        ("level", True, None),
        ("tempo", True, None),
    ]
    assert outcomes[1].results[0].data[0] > 0  # a tempo was found in the clicks


def test_artifacts_are_written_next_to_results(tone, tmp_path):
    from timeside_gql.core.registry import all_processors

    kinds = {cls.pid: cls.kind for cls in all_processors()}
    grapher = next((pid for pid, kind in kinds.items() if kind == "grapher"), None)
    encoder = next((pid for pid, kind in kinds.items() if kind == "encoder"), None)
    if grapher is None or encoder is None:
        pytest.skip("no grapher or encoder registered")
    assert main(["analyze", str(tone), "-p", grapher, "-p", encoder, "-o", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert any(n.startswith("tone.") and n.endswith(".png") for n in names), names
    assert not any(n.startswith(".work-") for n in names)
    assert len(names) >= 3  # results, picture, encoded file
