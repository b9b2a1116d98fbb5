"""Decoding every common format, segments, resampling, probing and bad input."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from timeside_gql.core import decode, samples

SR = 44100
FORMATS = {
    # ext: (mime, codec, exact length, decoded rate)
    ".wav": ("audio/wav", "pcm_s16le", True, SR),
    ".flac": ("audio/flac", "flac", True, SR),
    ".aiff": ("audio/aiff", "pcm_s16be", True, SR),
    ".ogg": ("audio/ogg", "vorbis", False, SR),
    ".opus": ("audio/ogg", "opus", False, 48000),
    ".mp3": ("audio/mpeg", "mp3", False, SR),
    ".m4a": ("audio/mp4", "aac", False, SR),
    ".webm": ("audio/webm", "opus", False, 48000),
}


@pytest.fixture(scope="module")
def stereo():
    """1 s stereo: a 440 Hz sine at 0.5 left, 0.25 right."""
    y = samples.sine(440.0, 1.0, SR, 0.5)
    return np.concatenate([y, 0.5 * y])


@pytest.fixture(scope="module")
def files(tmp_path_factory, stereo):
    folder = tmp_path_factory.mktemp("formats")
    return {ext: samples.write(folder / f"tone{ext}", stereo, SR) for ext in FORMATS}


@pytest.mark.parametrize("ext", list(FORMATS))
def test_every_format_probes_and_decodes(files, ext):
    mime, codec, exact, rate = FORMATS[ext]
    info = decode.probe(files[ext])
    assert (info.mime_type, info.codec, info.channels, info.samplerate) == (mime, codec, 2, rate)
    assert info.duration == pytest.approx(1.0, abs=0 if exact else 0.03)
    assert info.sha1 == hashlib.sha1(files[ext].read_bytes()).hexdigest()
    assert info.size == os.path.getsize(files[ext])

    y, sr = decode.load(files[ext])
    assert sr == rate and y.dtype == np.float32 and y.shape[0] == 2
    if exact:
        assert y.shape[1] == SR
    else:
        assert abs(y.shape[1] - rate) < 0.03 * rate
    middle = y[:, rate // 4 : 3 * rate // 4]
    rms = np.sqrt(np.mean(middle.astype(np.float64) ** 2, axis=1))
    np.testing.assert_allclose(rms, [0.5 / np.sqrt(2), 0.25 / np.sqrt(2)], rtol=0.05)


def test_lossless_decode_is_sample_exact(files, stereo):
    y, _ = decode.load(files[".flac"])
    np.testing.assert_allclose(y, stereo, atol=1 / 32768)


def test_segment_downmix_and_resample(files, stereo):
    y, sr = decode.load(files[".wav"], start=0.25, duration=0.5, mono=True, samplerate=16000)
    assert sr == 16000 and y.shape == (1, 8000)
    expected = stereo[:, SR // 4 : 3 * SR // 4].mean(axis=0)
    # a 440 Hz tone survives resampling: compare spectra peaks and RMS
    assert np.argmax(np.abs(np.fft.rfft(y[0]))) * 16000 / 8000 == pytest.approx(440, abs=2)
    assert np.sqrt(np.mean(y[0, 400:-400] ** 2)) == pytest.approx(
        np.sqrt(np.mean(expected**2)), rel=0.01
    )


def test_segment_of_compressed_file_after_seek(files):
    y, sr = decode.load(files[".mp3"], start=0.5, duration=0.25)
    assert y.shape[1] == pytest.approx(0.25 * sr, abs=2)


def test_blocks_are_bounded_and_complete(files):
    blocks = list(decode.iter_blocks(files[".wav"], block_size=4096))
    assert all(b.shape == (2, 4096) for b in blocks[:-1])
    assert sum(b.shape[1] for b in blocks) == SR


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.wav", b"", "empty file"),
        ("text.mp3", b"this is not audio at all\n" * 100, "not a readable audio file"),
        ("noise.ogg", bytes(range(256)) * 64, "not a readable audio file"),
    ],
)
def test_bad_input_raises_decode_error(tmp_path, name, content, message):
    path = _write_bytes(tmp_path / name, content)
    with pytest.raises(decode.DecodeError, match=message):
        decode.probe(path)
    with pytest.raises(decode.DecodeError):
        decode.load(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(decode.DecodeError, match="no such file"):
        decode.probe(tmp_path / "missing.wav")
    with pytest.raises(decode.DecodeError, match="not a regular file"):
        decode.load(tmp_path)


def test_truncated_and_corrupt_files_never_hang(tmp_path, files):
    for ext in (".mp3", ".flac", ".m4a", ".ogg"):
        data = files[ext].read_bytes()
        truncated = _write_bytes(tmp_path / f"cut{ext}", data[: len(data) // 3])
        corrupt = _write_bytes(
            tmp_path / f"bad{ext}", data[:200] + bytes(len(data) - 400) + data[-200:]
        )
        for path in (truncated, corrupt):
            try:
                y, _ = decode.load(path)
            except decode.DecodeError as exc:
                assert path.name in str(exc)
            else:
                assert np.isfinite(y).all()


def test_header_only_wav_has_no_samples(tmp_path, files):
    header = files[".wav"].read_bytes()[:44]
    path = _write_bytes(tmp_path / "header.wav", header)
    with pytest.raises(decode.DecodeError):
        decode.load(path)


def test_segment_outside_file(files):
    with pytest.raises(decode.DecodeError, match="beyond the end"):
        decode.load(files[".wav"], start=5.0)
    with pytest.raises(decode.DecodeError, match="not positive"):
        decode.load(files[".wav"], duration=0)


@pytest.mark.parametrize("channels", [1, 3, 6, 9, 16])
def test_many_channels_decode_exactly(tmp_path, channels):
    """PyAV crashes reading planar frames with more than 8 channels; we must not."""
    import soundfile as sf

    data = (np.arange(4000 * channels).reshape(4000, channels) % 7 / 10).astype(np.float32)
    path = tmp_path / f"c{channels}.wav"
    sf.write(path, data, 8000, subtype="FLOAT")
    y, sr = decode.load(path)
    assert sr == 8000
    np.testing.assert_array_equal(y, data.T)
    assert decode.probe(path).channels == channels
