"""Shared computation, streaming equivalence, failure isolation, progress, cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import librosa
import numpy as np
import pytest

from timeside_gql.core import decode, pipeline, samples
from timeside_gql.core.context import Context, Frames, MelPower, OnsetStrength, Signal, Spectrum
from timeside_gql.core.decode import StreamFormat
from timeside_gql.core.params import schema, validate_parameters
from timeside_gql.core.processor import Artifact, Done, Output, OutputSpec, Processor
from timeside_gql.core.registry import unregister

SR = 22050


def _stream(y: np.ndarray, block: int, need, sr: int = SR) -> tuple[Context, list]:
    ctx = Context(StreamFormat(sr, 1, y.size / sr))
    out = []
    starts = list(range(0, y.size, block))
    for i, start in enumerate(starts):
        ctx.advance(y[None, start : start + block], eod=i == len(starts) - 1)
        out.append(ctx.get(need))
    return ctx, out


@pytest.mark.parametrize("block", [1000, 4096, 30000])
def test_streamed_stft_equals_whole_signal_stft(block):
    y = samples.noise(1.3, SR)[0]
    _, parts = _stream(y, block, Spectrum(SR, 2048, 512))
    streamed = np.concatenate([p.data for p in parts], axis=1)
    expected = np.abs(librosa.stft(y, n_fft=2048, hop_length=512, pad_mode="constant"))
    assert streamed.shape == expected.shape
    np.testing.assert_allclose(streamed, expected, atol=1e-4)
    assert [p.start for p in parts] == list(np.cumsum([0] + [p.count for p in parts[:-1]]))


def test_streamed_resampling_matches_one_shot():
    y = samples.sweep(2.0, 44100)[0]
    _, parts = _stream(y, 10000, Signal(16000, mono=True), sr=44100)
    streamed = np.concatenate([p.data for p in parts])
    assert abs(streamed.size - 32000) <= 1
    one_shot = librosa.resample(y, orig_sr=44100, target_sr=16000, res_type="soxr_hq")
    n = min(streamed.size, one_shot.size)
    assert np.max(np.abs(streamed[1000 : n - 1000] - one_shot[1000 : n - 1000])) < 1e-3


def test_each_intermediate_is_computed_once_per_block():
    y = samples.noise(1.0, SR)[0]
    ctx = Context(StreamFormat(SR, 1, 1.0))
    mel = MelPower(SR, 2048, 512, 128)
    ctx.advance(y[None], eod=True)
    for _ in range(3):  # three consumers of the same needs
        ctx.get(OnsetStrength(mel))
        ctx.get(mel.spectrum)
    assert ctx.computations[mel.spectrum] == 1
    assert ctx.computations[Frames(SR, 2048, 512)] == 1
    assert ctx.computations[Signal(SR, True)] == 1


@dataclass(frozen=True)
class _BoomParams:
    when: Literal["process", "finish"]


class _Boom(Processor[_BoomParams]):
    pid = "test_boom"
    name = "Boom"
    description = "fails in process"
    parameters_schema = schema({"when": {"enum": ["process", "finish"], "default": "process"}})
    outputs = (OutputSpec("test_boom", "Boom"),)

    def needs(self):
        return (Spectrum(SR, 2048, 512),)

    def process(self, ctx):
        if self.params.when == "process":
            raise RuntimeError("kaput")

    def finish(self, done: Done) -> Output:
        raise ZeroDivisionError("late")


class _Child(Processor):
    pid = "test_child"
    name = "Child"
    kind = "grapher"
    description = "reads a parent's results"

    def parents(self):
        return [("level", {})]

    def finish(self, done: Done) -> Output:
        level = done.results_of("level")
        return Output(artifacts=[Artifact("x.txt", "text/plain", data=b"%.1f" % level[0].data[0])])


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    unregister("test_boom")
    unregister("test_child")


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return samples.write(
        tmp_path_factory.mktemp("p") / "tone.flac", samples.sine(440, 3.0, SR, 0.5), SR
    )


def test_failures_are_isolated_and_parents_shared(tone):
    fractions: list[float] = []
    presets = [
        ("test_boom", {}),
        ("mfcc", {}),
        ("test_boom", {"when": "finish"}),
        ("test_child", None),
        ("spectrogram_analyzer", {"n_fft": 3}),
        ("level", {}),
    ]
    boom, mfcc, late, child, bad, level = pipeline.run(tone, presets, progress=fractions.append)
    assert "kaput" in boom.error and boom.results is None
    assert "late" in late.error
    assert mfcc.ok and mfcc.results[0].data.shape == (1 + 3 * SR // 512, 13)
    assert child.ok and child.artifacts[0].data == b"-6.0"
    assert bad.error.startswith("ParameterError") and "n_fft" in bad.error
    assert level.ok and level.results[0].provenance["source_sha1"] == decode.probe(tone).sha1
    assert level.results[0].audio_metadata.duration == pytest.approx(3.0)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(o.run_time >= 0 for o in (boom, mfcc, level))


def test_cancellation_and_decode_errors(tone, tmp_path):
    with pytest.raises(pipeline.Cancelled):
        pipeline.run(tone, [("level", {})], cancelled=lambda: True)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....nonsense")
    with pytest.raises(decode.DecodeError):
        pipeline.run(bad, [("level", {})])


def test_segment_source(tone):
    (outcome,) = pipeline.run(pipeline.Source(tone, start=1.0, duration=1.5), [("level", {})])
    meta = outcome.results[0].audio_metadata
    assert (meta.start, meta.is_segment) == (1.0, True)
    assert meta.duration == pytest.approx(1.5)


def test_each_preset_and_each_listed_parent_is_validated_once(tone, parameter_checks):
    """A grapher over onsets: the grapher's settings and the parent it lists are checked once
    each (the parent's instance, its lookup in finish and the provenance reuse that check)."""
    grapher = {"analyzer": "onsets", "analyzer_parameters": {"n_fft": 1024}, "width": 64}
    [drawn] = pipeline.run(tone, [("analyzer_grapher", grapher)])
    assert drawn.ok and drawn.artifacts[0].data.startswith(b"\x89PNG")
    assert parameter_checks == [grapher, {"n_fft": 1024}]

    onsets = validate_parameters("onsets", {"n_fft": 1024})
    parameter_checks.clear()
    [counted, drawn] = pipeline.run(tone, [("onsets", onsets), ("analyzer_grapher", grapher)])
    assert parameter_checks == [grapher, {"n_fft": 1024}]  # given validated: taken as it is
    assert drawn.ok and counted.ok
    assert {r.provenance["parameters_hash"] for r in counted.results} == {onsets.hash}
    assert counted.results[0].parameters == onsets.to_dict() == counted.params
