"""Encoding a synthesized sine to every format and decoding it back with the team's decoder."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from timeside_gql.core import decode, encoders, pipeline, samples
from timeside_gql.core.encoders import EncodeError, EncodeSettings
from timeside_gql.core.params import ParameterError, validate_parameters
from timeside_gql.core.registry import get_processor

SR = 44100
FREQ = 440.0
DURATION = 1.0

# fmt: (decoded rate, tolerated extra/missing samples at the decoded rate: codec delay/padding)
EXPECTED = {
    "wav": (SR, 0),
    "flac": (SR, 0),
    "mp3": (SR, 2 * 1152),
    "ogg": (SR, 256),
    "opus": (48000, 480),
    "m4a": (SR, 2 * 1024),
    "webm": (48000, 480),
}


def dominant_frequency(y: np.ndarray, sr: int) -> float:
    mono = y.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    return float(np.fft.rfftfreq(mono.size, 1 / sr)[spectrum.argmax()])


def blocks(y: np.ndarray, size: int = 4096):
    return (y[:, i : i + size] for i in range(0, y.shape[1], size))


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    return samples.sine(FREQ, DURATION, SR, 0.5)


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory, tone):
    """2 s stereo source file: 440 Hz left, 440 Hz at half level right."""
    y = np.concatenate([np.tile(tone, 2), 0.5 * np.tile(tone, 2)])
    return samples.write(tmp_path_factory.mktemp("src") / "source.wav", y, SR)


def check_decoded(y: np.ndarray, sr: int, fmt: str, *, channels: int, duration: float) -> None:
    rate, slack = EXPECTED[fmt]
    assert sr == rate
    assert y.shape[0] == channels
    assert abs(y.shape[1] - round(duration * rate)) <= slack
    assert dominant_frequency(y, sr) == pytest.approx(FREQ, abs=2.0)


def test_format_table_exposes_mime_extension_codec():
    table = {row["format"]: row for row in encoders.format_table()}
    assert set(table) == set(EXPECTED)
    assert table["mp3"] == {
        "format": "mp3",
        "mime_type": "audio/mpeg",
        "extension": "mp3",
        "codec": "libmp3lame",
    }
    assert table["m4a"]["mime_type"] == "audio/mp4"
    assert table["opus"]["extension"] == "opus"
    assert encoders.get_format(".OGG").mime_type == "audio/ogg"


def test_unknown_format_is_a_typed_error():
    with pytest.raises(EncodeError, match="unknown audio format 'aiffc'"):
        encoders.get_format("aiffc")


@pytest.mark.parametrize("fmt", list(EXPECTED))
def test_file_round_trip(tmp_path, tone, fmt):
    settings = EncodeSettings(samplerate=SR, channels=1)
    path = encoders.encode_file(blocks(tone), tmp_path / f"tone.{fmt}", fmt, settings)
    assert [p.name for p in tmp_path.iterdir()] == [f"tone.{fmt}"]
    y, sr = decode.load(path)
    check_decoded(y, sr, fmt, channels=1, duration=DURATION)
    assert decode.probe(path).mime_type == encoders.get_format(fmt).mime_type


@pytest.mark.parametrize("fmt", list(EXPECTED))
def test_streamed_chunks_decode_like_the_file(tmp_path, tone, fmt):
    stereo = np.concatenate([tone, 0.5 * tone])
    settings = EncodeSettings(samplerate=SR, channels=2)
    chunks = list(encoders.encode_chunks(blocks(stereo), fmt, settings, chunk_size=4096))
    assert chunks and all(chunks)
    path = tmp_path / f"streamed.{fmt}"
    path.write_bytes(b"".join(chunks))
    y, sr = decode.load(path)
    check_decoded(y, sr, fmt, channels=2, duration=DURATION)
    # the right channel was encoded at half level
    assert np.sqrt(np.mean(y[1] ** 2)) / np.sqrt(np.mean(y[0] ** 2)) == pytest.approx(0.5, 0.05)

    filed_path = encoders.encode_file(blocks(stereo), tmp_path / f"f.{fmt}", fmt, settings)
    filed, _ = decode.load(filed_path)
    n = min(filed.shape[1], y.shape[1])
    if EXPECTED[fmt][1] == 0:  # lossless: identical samples
        np.testing.assert_array_equal(filed, y)
    else:
        assert abs(filed.shape[1] - y.shape[1]) <= EXPECTED[fmt][1]
        assert np.sqrt(np.mean(filed[:, :n] ** 2)) == pytest.approx(
            np.sqrt(np.mean(y[:, :n] ** 2)), rel=0.05
        )


def test_m4a_stream_is_fragmented():
    y = samples.sine(FREQ, 0.5, SR)
    data = b"".join(
        encoders.encode_chunks(blocks(y), "m4a", EncodeSettings(samplerate=SR, channels=1))
    )
    assert b"moof" in data and data.index(b"moov") < data.index(b"moof")


@pytest.mark.parametrize(("fmt", "bitrate"), [("mp3", 64_000), ("mp3", 256_000), ("opus", 32_000)])
def test_bitrate_is_honoured(tone, fmt, bitrate):
    noise = samples.noise(1.0, SR) * 0.5
    settings = EncodeSettings(samplerate=SR, channels=1, bitrate=bitrate)
    size = sum(map(len, encoders.encode_chunks(blocks(noise), fmt, settings)))
    assert size * 8 == pytest.approx(bitrate * DURATION, rel=0.2)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "m4a"])
def test_transcode_segment(tmp_path, stereo_wav, fmt):
    path = encoders.transcode_file(stereo_wav, tmp_path / f"cut.{fmt}", start=0.5, stop=1.25)
    y, sr = decode.load(path)
    check_decoded(y, sr, fmt, channels=2, duration=0.75)

    streamed = b"".join(encoders.transcode_chunks(stereo_wav, fmt, start=0.5, stop=1.25))
    with av.open(io.BytesIO(streamed)) as container:
        assert container.streams.audio[0].codec_context.channels == 2


def test_segment_samples_are_the_source_samples(tmp_path, stereo_wav):
    whole, _ = decode.load(stereo_wav)
    cut, _ = decode.load(encoders.transcode_file(stereo_wav, tmp_path / "cut.flac", start=0.5))
    np.testing.assert_array_equal(cut, whole[:, SR // 2 :])


def test_failed_encode_leaves_no_file(tmp_path, tone):
    def broken():
        yield tone[:, :1000]
        raise RuntimeError("source died")

    settings = EncodeSettings(samplerate=SR, channels=1)
    with pytest.raises(RuntimeError, match="source died"):
        encoders.encode_file(broken(), tmp_path / "x.mp3", "mp3", settings)
    assert list(tmp_path.iterdir()) == []


def test_channel_mismatch_and_bad_source_are_typed_errors(tmp_path, tone):
    settings = EncodeSettings(samplerate=SR, channels=2)
    with pytest.raises(EncodeError, match="1 channels, expected 2"):
        list(encoders.encode_chunks(blocks(tone), "wav", settings))
    with pytest.raises(decode.DecodeError):
        encoders.transcode_chunks(tmp_path / "missing.wav", "mp3")


def test_abandoned_stream_releases_the_encoder(tone):
    long = np.tile(tone, 5)
    settings = EncodeSettings(samplerate=SR, channels=1)
    stream = encoders.encode_chunks(blocks(long), "wav", settings, chunk_size=1024)
    first = next(stream)
    stream.close()
    assert first.startswith(b"RIFF")


PROCESSORS = {
    "wav_encoder": "wav",
    "flac_encoder": "flac",
    "mp3_encoder": "mp3",
    "vorbis_encoder": "ogg",
    "opus_encoder": "opus",
    "aac_encoder": "m4a",
    "webm_encoder": "webm",
}


def test_encoder_processors_are_registered_with_schemas():
    for pid, fmt in PROCESSORS.items():
        cls = get_processor(pid)
        assert cls.kind == "encoder" and cls.fmt == fmt
        defaults = validate_parameters(pid, {})
        assert defaults["start"] == 0 and defaults["stop"] is None
    assert validate_parameters("mp3_encoder", {})["bitrate"] == 192
    assert validate_parameters("vorbis_encoder", {})["quality"] == 0.9
    with pytest.raises(ParameterError):
        validate_parameters("mp3_encoder", {"bitrate": 1000})
    with pytest.raises(ParameterError):
        validate_parameters("wav_encoder", {"bitrate": 128})


def test_encoder_presets_in_one_pipeline_run(tmp_path, stereo_wav):
    presets = [(pid, {"start": 0.5, "stop": 1.5}) for pid in PROCESSORS]
    outcomes = pipeline.run(stereo_wav, presets, workdir=tmp_path)
    for outcome, fmt in zip(outcomes, PROCESSORS.values(), strict=True):
        assert outcome.ok, outcome.error
        (artifact,) = outcome.artifacts
        spec = encoders.get_format(fmt)
        assert artifact.mime_type == spec.mime_type
        assert artifact.path == tmp_path / f"{outcome.pid}.{spec.extension}"
        y, sr = decode.load(artifact.path)
        check_decoded(y, sr, fmt, channels=2, duration=1.0)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_few_samples_still_make_a_decodable_file_in_every_format(tmp_path):
    """Codecs emit nothing for less than a frame (Opus, WebM once wrote no file): a one-sample
    source is padded with silence to one frame."""
    one = samples.write(tmp_path / "one.wav", np.array([0.5], dtype=np.float32), SR)
    outcomes = pipeline.run(one, [(pid, {}) for pid in PROCESSORS], workdir=tmp_path)
    for outcome in outcomes:
        assert outcome.ok, (outcome.pid, outcome.error)
        y, _ = decode.load(outcome.artifacts[0].path)
        assert y.shape[-1] > 0 and np.all(np.abs(y) <= 1.0)


def test_encoder_segment_past_the_end_fails_alone(tmp_path, stereo_wav):
    wav, late = pipeline.run(
        stereo_wav, [("wav_encoder", {}), ("flac_encoder", {"start": 5.0})], workdir=tmp_path
    )
    assert wav.ok and decode.probe(wav.artifacts[0].path).duration == pytest.approx(2.0)
    assert "empty segment" in late.error


@pytest.mark.parametrize(("fmt", "channels"), [("flac", 6), ("m4a", 6), ("ogg", 6), ("mp3", 2)])
def test_multichannel_kept_where_the_codec_allows(tone, fmt, channels):
    surround = np.concatenate([tone * (k + 1) / 8 for k in range(6)])
    settings = EncodeSettings(samplerate=SR, channels=6)
    data = b"".join(encoders.encode_chunks(blocks(surround), fmt, settings))
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.channels == channels


def test_encoder_segment_with_stop_before_start_is_empty(tmp_path, stereo_wav):
    (outcome,) = pipeline.run(
        stereo_wav, [("wav_encoder", {"start": 1.0, "stop": 0.5})], workdir=tmp_path
    )
    assert "empty segment: 1.0..0.5 s" in outcome.error
