"""Graphers: real PNGs decoded back with Pillow, checked against the signals drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from timeside_gql.core import pipeline, samples
from timeside_gql.core.context import Context
from timeside_gql.core.decode import StreamFormat
from timeside_gql.core.graphers import RenderError, render
from timeside_gql.core.graphers.draw import per_column
from timeside_gql.core.params import ParameterError, validate_parameters
from timeside_gql.core.registry import get_processor
from timeside_gql.core.results import (
    AnalyzerResult,
    AudioMetadata,
    DataObject,
    FrameMetadata,
    IdMetadata,
    LabelMetadata,
)

SR = 16000
W, H = 200, 128
GRAPHERS = (
    "waveform_simple",
    "waveform_centroid",
    "waveform_contour_black",
    "waveform_contour_white",
    "waveform_transparent",
    "spectrogram_lin",
    "spectrogram_log",
)
GREY = ["#000000", "#ffffff"]


def write(folder, name: str, y: np.ndarray):
    return samples.write(folder / f"{name}.wav", y, SR)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("graphers")


@pytest.fixture(scope="module")
def half_sine(folder):
    """1 s, 2 kHz at amplitude 0.5."""
    return write(folder, "half_sine", samples.sine(2000.0, 1.0, SR, 0.5))


def draw(source, pid: str, **params) -> Image.Image:
    (outcome,) = pipeline.run(source, [(pid, {"width": W, "height": H, **params})])
    assert outcome.ok, outcome.error
    (artifact,) = outcome.artifacts
    assert artifact.name == f"{pid}.png" and artifact.mime_type == "image/png"
    image = Image.open(io.BytesIO(artifact.data))
    assert image.format == "PNG"
    return image


def painted_rows(image: Image.Image, background) -> np.ndarray:
    """Rows holding any pixel that is not the background."""
    pixels = np.asarray(image)
    return np.flatnonzero((pixels != np.asarray(background, np.uint8)).any(axis=(1, 2)))


def test_graphers_are_registered_with_size_and_colour_parameters():
    for pid in GRAPHERS:
        assert get_processor(pid).kind == "grapher"
        params = validate_parameters(pid, {})
        assert (params["width"], params["height"]) == (1024, 256)
    assert validate_parameters("waveform_simple", {})["color"] == "#000000"
    with pytest.raises(ParameterError, match="does not match"):
        validate_parameters("waveform_simple", {"color": "red"})
    with pytest.raises(ParameterError):
        validate_parameters("spectrogram_lin", {"width": 0})


def test_every_grapher_in_one_run_gives_a_png_of_the_asked_size(half_sine):
    outcomes = pipeline.run(half_sine, [(pid, {"width": W, "height": H}) for pid in GRAPHERS])
    for outcome in outcomes:
        assert outcome.ok, (outcome.pid, outcome.error)
        image = Image.open(io.BytesIO(outcome.artifacts[0].data))
        assert (image.size, image.mode) == ((W, H), "RGBA")


def test_waveform_extent_matches_the_amplitude_and_colours_are_honoured(half_sine):
    image = draw(half_sine, "waveform_simple", background="#102030", color="#f0e0d0")
    pixels = np.asarray(image).reshape(-1, 4)
    assert {tuple(p) for p in np.unique(pixels, axis=0)} == {
        (16, 32, 48, 255),
        (240, 224, 208, 255),
    }
    rows = painted_rows(image, (16, 32, 48, 255))
    centre = (H - 1) / 2
    reach = 0.5 * (centre - 1)
    assert rows.min() == pytest.approx(centre - reach, abs=1.0)
    assert rows.max() == pytest.approx(centre + reach, abs=1.0)
    # 2 kHz over 80 samples per column: every column spans the full peak to peak
    assert (np.asarray(image)[int(centre - reach) + 1, :, 0] == 240).all()


def test_transparent_waveform_paints_only_outside_the_envelope(half_sine):
    pixels = np.asarray(draw(half_sine, "waveform_transparent", color="#ffffff"))
    centre = (H - 1) / 2
    column = pixels[:, W // 2]
    assert (column[round(centre), 3] == 0) and (column[0] == [255, 255, 255, 255]).all()
    outside = int(np.count_nonzero(column[:, 3] == 255))
    assert outside == pytest.approx(H - (centre - 1) - 1, abs=2)


def test_silence_draws_a_flat_centre_line(folder):
    source = write(folder, "silence", samples.silence(0.5, SR))
    rows = painted_rows(draw(source, "waveform_simple"), (255, 255, 255, 255))
    # the centre of an even height falls between two rows: both are painted
    np.testing.assert_array_equal(rows, [H // 2 - 1, H // 2])


@pytest.mark.parametrize(
    ("pid", "freq", "expected"),
    [
        # row y covers [fmax (1 - (y+1)/H), fmax (1 - y/H)]
        ("spectrogram_lin", 2000.0, H * (1 - 2000 / 8000) - 0.5),
        ("spectrogram_log", 1000.0, H * (1 - np.log(1000 / 20) / np.log(8000 / 20)) - 0.5),
    ],
)
def test_sine_spectrogram_bright_row_is_at_its_frequency(folder, pid, freq, expected):
    source = write(folder, f"sine{int(freq)}", samples.sine(freq, 1.0, SR, 0.5))
    levels = np.asarray(draw(source, pid, palette=GREY, rate=SR))[..., 0].astype(float)
    middle = levels[:, W // 4 : 3 * W // 4]
    assert np.abs(middle.argmax(axis=0) - expected).max() <= 1.0
    # amplitude 0.5 is -6 dBFS: 1 - 6.02 / 120 of the full grey scale
    assert middle.max() == pytest.approx(255 * (1 - 6.02 / 120), abs=4)
    assert np.median(middle) < 0.3 * middle.max()


def test_spectrogram_frequency_range_parameters(folder):
    source = write(folder, "sine3k", samples.sine(3000.0, 0.5, SR, 0.5))
    levels = np.asarray(
        draw(source, "spectrogram_lin", palette=GREY, min_freq=2000, max_freq=4000, n_fft=4096)
    )[..., 0]
    row = np.median(levels[:, W // 4 : 3 * W // 4].argmax(axis=0))
    assert row == pytest.approx(H / 2 - 0.5, abs=1)


@pytest.mark.parametrize("freq", [300.0, 5000.0])
def test_centroid_colour_follows_the_frequency(folder, freq):
    source = write(folder, f"tone{int(freq)}", samples.sine(freq, 0.5, SR, 0.8))
    image = draw(source, "waveform_centroid", palette=["#0000ff", "#ff0000"])
    pixels = np.asarray(image)[:, W // 4 : 3 * W // 4].reshape(-1, 4)
    drawn = pixels[pixels[:, 3] > 0]
    drawn = drawn[(drawn[:, :3] != 0).any(axis=1)]
    position = np.log10(freq / 200) / np.log10(11025 / 200)  # the analyzers' STFT at 22050 Hz
    assert np.median(drawn[:, 0]) == pytest.approx(255 * position, abs=8)


def test_contour_is_symmetric_and_follows_a_fade_in(folder):
    fade = samples.sine(1000.0, 1.0, SR) * np.linspace(0, 1, SR)
    source = write(folder, "fade", fade)
    image = draw(source, "waveform_contour_white", colors=["#ff0000", "#00ff00"])
    pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels, pixels[::-1])  # mirrored around the centre row
    painted = (pixels[..., :3] != 255).any(axis=2).sum(axis=0)
    assert painted[5] < 5 and painted[-5] >= H - 4
    assert np.all(np.diff(painted[10:-10]) >= -1)
    colours = {tuple(p) for p in pixels.reshape(-1, 4)}
    assert colours == {(255, 255, 255, 255), (255, 0, 0, 255), (0, 255, 0, 255)}


def test_graphers_of_one_width_share_their_column_reductions():
    ctx = Context(StreamFormat(SR, 1, 0.5))
    a = get_processor("waveform_simple")({"width": W})
    b = get_processor("waveform_contour_black")({"width": W})
    c = get_processor("spectrogram_lin")({"width": W})
    d = get_processor("waveform_centroid")({"width": W})
    ctx.advance(samples.sine(440.0, 0.5, SR), eod=True)
    for grapher in (a, b, c, d):
        grapher.process(ctx)
    assert a._peaks is b._peaks is d._peaks
    assert c._spectrum is d._spectrum


# --- the generic renderer ----------------------------------------------------------------

FRAMES = FrameMetadata(samplerate=100.0, blocksize=2, stepsize=1)


def result(data_mode, time_mode, **data) -> AnalyzerResult:
    return AnalyzerResult(
        data_mode,
        time_mode,
        id_metadata=IdMetadata(id="r", name="R", unit="dB"),
        audio_metadata=AudioMetadata(duration=2.0),
        data_object=DataObject(**data),
    )


def mask(image: Image.Image) -> np.ndarray:
    """Pixels that are not the white background."""
    return (np.asarray(image)[..., :3] != 255).any(axis=2)


def test_render_framewise_values_as_a_line():
    ramp = result("value", "framewise", value=np.linspace(0, 1, 200), frame_metadata=FRAMES)
    image = render(ramp, W, H)
    assert (image.size, image.mode) == ((W, H), "RGBA")
    drawn = mask(image)
    top = drawn.argmax(axis=0)  # first painted row of each column
    assert drawn.any(axis=0).all()
    assert np.all(np.diff(top) <= 0)  # rising line: rows go up
    assert top[0] > 0.85 * H and top[-1] < 0.15 * H


def test_render_line_breaks_at_nan_and_zooms():
    values = np.linspace(0, 1, 201)  # centred frames: 1 + n // hop of them, the last at 2 s
    values[100:150] = np.nan  # e.g. unvoiced frames of a pitch track
    pitch = result("value", "framewise", value=values, frame_metadata=FRAMES)
    drawn = mask(render(pitch, W, H)).any(axis=0)
    assert not drawn[105:145].any() and drawn[:95].all() and drawn[155:].all()
    zoomed = mask(render(pitch, W, H, start=1.5, stop=2.0)).any(axis=0)
    assert zoomed.all()


def test_render_matrix_as_an_image():
    matrix = np.zeros((200, 12))
    matrix[:, 3] = 1.0
    chroma = result("value", "framewise", value=matrix, frame_metadata=FRAMES)
    pixels = np.asarray(render(chroma, W, H, palette=GREY))[..., 0]
    rows = np.flatnonzero(pixels[:, W // 2] > 128)
    expected = np.flatnonzero((H - 1 - np.arange(H)) * 12 // H == 3)
    np.testing.assert_array_equal(rows, expected)


def test_render_events_as_marks_at_their_times():
    events = result("value", "event", value=[1.0, 2.0], time=[0.5, 1.5])
    columns = np.flatnonzero(mask(render(events, W, H)).any(axis=0))
    np.testing.assert_array_equal(columns, [W // 4, 3 * W // 4])
    zoomed = np.flatnonzero(mask(render(events, W, H, start=0.25, stop=0.75)).any(axis=0))
    np.testing.assert_array_equal(zoomed, [W // 2])


def test_render_labelled_segments_as_coloured_spans():
    segments = result(
        "label",
        "segment",
        label=[0, 1],
        time=[0.0, 1.0],
        duration=[0.5, 1.0],
        label_metadata=LabelMetadata(label={0: "speech", 1: "music"}),
    )
    pixels = np.asarray(render(segments, W, H))
    covered = mask(Image.fromarray(pixels)).all(axis=0)
    np.testing.assert_array_equal(np.flatnonzero(covered), np.r_[0 : W // 4, W // 2 : W])
    assert tuple(pixels[0, 0]) != tuple(pixels[0, -1])


def test_render_framewise_labels_as_runs():
    labels = (np.arange(200) >= 100).astype(int)
    frames = result("label", "framewise", label=labels, frame_metadata=FRAMES)
    pixels = np.asarray(render(frames, W, H))
    assert (pixels[:, : W // 2 - 1] == pixels[0, 0]).all()
    assert (pixels[:, W // 2 + 1 :] == pixels[0, -1]).all()
    assert tuple(pixels[0, 0]) != tuple(pixels[0, -1])


def test_render_value_segments_as_bars():
    segments = result("value", "segment", value=[1.0, 2.0], time=[0.0, 1.0], duration=[1.0, 1.0])
    heights = mask(render(segments, W, H)).sum(axis=0)
    assert heights[W // 4] == pytest.approx(heights[3 * W // 4] / 2, abs=3)


@pytest.mark.parametrize(
    "res",
    [
        result("value", "global", value=[-3.0]),
        result("value", "global", value=np.arange(12.0)),
        result("label", "global", label=[0], label_metadata=LabelMetadata(label={0: "C major"})),
    ],
)
def test_render_globals(res):
    image = render(res, W, H)
    assert image.size == (W, H) and mask(image).any()


def test_render_rejects_an_empty_window():
    events = result("value", "event", value=[1.0], time=[0.5])
    with pytest.raises(RenderError, match="empty time window"):
        render(events, W, H, start=1.0, stop=1.0)
    with pytest.raises(RenderError):
        render(events, 0, H)


def test_analyzer_grapher_pictures_a_parent_analyzer_result(half_sine):
    presets = [
        ("level", {}),
        ("analyzer_grapher", {"analyzer": "level", "result": "level.rms", "width": W, "height": H}),
        ("analyzer_grapher", {"analyzer": "level", "result": "nope"}),
        ("analyzer_grapher", {"analyzer": "no_such_analyzer"}),
    ]
    level, picture, unknown, missing = pipeline.run(half_sine, presets)
    assert level.ok and picture.ok, picture.error
    image = Image.open(io.BytesIO(picture.artifacts[0].data))
    assert image.size == (W, H) and mask(image).any()
    assert "no result 'nope'" in unknown.error
    assert "unknown processor 'no_such_analyzer'" in missing.error


def test_analyzer_graphers_name_their_analyzer():
    for pid, analyzer in {
        "grapher_onset_detection_function": "onset_detection_function",
        "grapher_loudness_itu": "loudness_itu",
        "grapher_waveform": "waveform_analyzer",
        "spectrogram": "spectrogram_analyzer",
    }.items():
        grapher = get_processor(pid)({})
        assert grapher.parents() == ((analyzer, {}),)
        assert "analyzer" not in grapher.parameters_schema["properties"]


def test_per_column_reduces_interpolates_and_leaves_outside_empty():
    values, times = np.array([0.0, 1.0, 2.0, 3.0]), np.arange(4.0)
    low, high = per_column(values, times, np.linspace(0, 4, 9))
    np.testing.assert_allclose(low, [0, 0.75, 1, 1.75, 2, 2.75, 3, np.nan])
    np.testing.assert_allclose(high, low)
    low, high = per_column(values, times, np.array([0.0, 2.0, 4.0]))
    np.testing.assert_allclose(low, [0, 2])
    np.testing.assert_allclose(high, [1, 3])
    matrix = np.stack([values, 2 * values], 1)
    mean, _ = per_column(matrix, times, np.array([0, 2.0, 4]), how="mean")
    np.testing.assert_allclose(mean, [[0.5, 1.0], [2.5, 5.0]])
