"""audio_analysis on synthetic pieces of known sections, tempo, meter, key and tatums."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import soundfile as sf

from timeside_gql.core import hdf5, pieces, pipeline
from timeside_gql.core.pieces import Part
from timeside_gql.core.structure import OUTPUT_IDS, AudioAnalysis, audio_analysis

SR = 22050
# A: C major, 4/4 at 120, organ, eighth-note hats; B: A minor, 3/4 at 90, saw, triplet hats;
# A': A again with softer drums and other random hits
A = Part(20.0, bpm=120.0, meter=4, key=0, timbre="organ", subdivision=2)
B = Part(20.0, bpm=90.0, meter=3, key=9, minor=True, timbre="saw", subdivision=3)
A2 = Part(20.0, bpm=120.0, meter=4, key=0, timbre="organ", subdivision=2, drums=0.7)
PIECE = (A, B, A2)


def _analyse(folder, name: str, parts, seed: int = 1) -> tuple[AudioAnalysis, dict]:
    """Run the analyzer, store its results in HDF5 and read them back (lazily)."""
    wav = folder / f"{name}.wav"
    sf.write(wav, pieces.render(parts, sr=SR, seed=seed), SR, subtype="FLOAT")
    (outcome,) = pipeline.run(wav, [("audio_analysis", {})])
    assert outcome.ok, outcome.error
    stored = hdf5.write(folder / f"{name}.h5", outcome.results)
    with h5py.File(stored, "r") as h5:
        return audio_analysis({rid: hdf5.read_lazy(h5, rid) for rid in OUTPUT_IDS}), {
            r.id: r for r in outcome.results
        }


@pytest.fixture(scope="module")
def aba(tmp_path_factory):
    return _analyse(tmp_path_factory.mktemp("structure"), "aba", PIECE)


def _in(times: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return times[(times >= lo) & (times < hi)]


def _starts(elements) -> np.ndarray:
    return np.array([e.start for e in elements])


def test_sections_follow_the_parts(aba):
    tree, _ = aba
    sections = tree.sections
    np.testing.assert_allclose(_starts(sections), [0.0, *pieces.boundaries(PIECE)], atol=0.5)
    assert [s.label for s in sections] == ["A", "B", "A"]  # A' is recognised as A
    assert sections[-1].start + sections[-1].duration == pytest.approx(60.0, abs=0.05)
    assert [s.time_signature for s in sections] == [4, 3, 4]
    np.testing.assert_allclose([s.tempo for s in sections], [120.0, 90.0, 120.0], rtol=0.02)
    assert [(s.key, s.mode) for s in sections] == [(0, 1), (9, 0), (0, 1)]
    assert sections[0].confidence == 1.0 and min(s.confidence for s in sections) > 0.3
    assert sections[2].loudness < sections[0].loudness  # softer drums in A'


def test_beats_bars_and_tatums_are_on_the_grid(aba):
    tree, _ = aba
    beats, bars, tatums = (_starts(x) for x in (tree.beats, tree.bars, tree.tatums))
    true_beats = np.concatenate(
        [np.arange(0, 20, 0.5), np.arange(20, 40, 2 / 3), np.arange(40, 60, 0.5)]
    )
    hit = np.abs(true_beats[:, None] - beats[None, :]).min(axis=1) < 0.07
    assert hit.mean() >= 0.9
    # bars start on the downbeats: every 4th beat in A, every 3rd in B (both every 2 s)
    for lo, hi in ((0, 20), (20, 40), (40, 60)):
        starts = _in(bars, lo + 0.5, hi - 0.5)
        assert starts.size >= 8
        offset = (starts - lo) % 2.0
        assert np.all(np.minimum(offset, 2.0 - offset) < 0.08), (lo, starts)
    # tatums: eighths in A (0.25 s), triplets in B (2/9 s)
    assert np.median(np.diff(_in(tatums, 1, 19))) == pytest.approx(0.25, abs=0.02)
    assert np.median(np.diff(_in(tatums, 21, 39))) == pytest.approx(2 / 9, abs=0.02)


def test_segments_are_onsets_with_pitches_and_timbre(aba):
    tree, _ = aba
    a_part = [s for s in tree.segments if 1 < s.start < 19]
    b_part = [s for s in tree.segments if 21 < s.start < 39]
    # hi-hats every eighth in A: about 4 segments per second, each starting at a stroke
    assert np.median([s.duration for s in a_part]) == pytest.approx(0.25, abs=0.03)
    offsets = (_starts(a_part) + 0.125) % 0.25 - 0.125  # from the nearest stroke
    assert np.all((offsets > -0.1) & (offsets < 0.05))  # backtracked to just before it
    for s in tree.segments:
        assert s.loudness_max >= s.loudness_start
        assert 0 <= s.loudness_max_time <= s.duration + 1e-9
        assert len(s.pitches) == 12 and max(s.pitches) == pytest.approx(1.0)
        assert len(s.timbre) == 12
    chroma_a = np.mean([s.pitches for s in a_part], axis=0)
    chroma_b = np.mean([s.pitches for s in b_part], axis=0)
    assert set(np.argsort(chroma_a)[-3:]) <= {0, 2, 4, 5, 7, 9, 11}  # C major's notes
    assert int(np.argmax(chroma_b)) in {9, 0, 4}  # A minor's triad
    # A' (organ) sounds like A, not like B (saw)
    timbre = {
        name: np.mean([s.timbre for s in tree.segments if lo + 1 < s.start < lo + 19], axis=0)
        for name, lo in (("A", 0), ("B", 20), ("A'", 40))
    }
    assert np.linalg.norm(timbre["A'"] - timbre["A"]) < 0.5 * np.linalg.norm(
        timbre["A'"] - timbre["B"]
    )


def test_track_summary(aba):
    track = aba[0].track
    assert track.duration == pytest.approx(60.0, abs=0.01)
    assert track.tempo == pytest.approx(120.0, rel=0.02)  # 40 s of the 60 are at 120
    assert track.time_signature == 4
    assert (track.key, track.mode) == (0, 1)
    assert -40 < track.loudness < 0


def test_confidences_are_in_unit_range(aba):
    tree, results = aba
    for name in ("bars", "beats", "tatums", "segments", "sections"):
        values = [e.confidence for e in getattr(tree, name)]
        assert values and min(values) >= 0 and max(values) <= 1, name
    track = tree.track
    for field in ("tempo", "key", "mode", "time_signature"):
        assert 0 < getattr(track, f"{field}_confidence") <= 1, field
    assert results["audio_analysis.beats"].time_mode == "segment"


def test_a_window_returns_the_elements_it_intersects(aba, tmp_path):
    tree, results = aba
    window = audio_analysis(results, start=18.0, stop=22.0)
    assert [s.label for s in window.sections] == ["A", "B"]
    for name in ("bars", "beats", "tatums", "segments"):
        inside = [e for e in getattr(tree, name) if e.start < 22.0 and e.start + e.duration > 18.0]
        assert list(getattr(window, name)) == inside, name
    assert window.track == tree.track
    with pytest.raises(KeyError, match=r"audio_analysis\.bars"):
        audio_analysis({rid: r for rid, r in results.items() if rid != "audio_analysis.bars"})


@pytest.mark.parametrize(("meter", "bpm"), [(3, 100.0), (4, 132.0), (5, 110.0)])
def test_known_meter_and_tempo(tmp_path, meter, bpm):
    part = Part(24.0, bpm=bpm, meter=meter, key=2, timbre="flute", subdivision=2)
    tree, _ = _analyse(tmp_path, f"meter{meter}", [part], seed=meter)
    assert tree.track.time_signature == meter
    assert tree.track.tempo == pytest.approx(bpm, rel=0.02)
    bar = meter * 60.0 / bpm
    assert np.median(np.diff(_starts(tree.bars))) == pytest.approx(bar, rel=0.03)
    assert (tree.track.key, tree.track.mode) == (2, 1)


@pytest.mark.parametrize("bpm", [90.0, 100.0, 120.0])
@pytest.mark.parametrize("meter", [3, 4])
def test_tempo_and_structure_agree_over_eighth_note_hats(tmp_path, meter, bpm):
    """Hi-hats between the beats are not beats: the tempo analyzer's octave check and the
    structure's section tempo both judge half the period on the flux below BEAT_HZ (the
    tempo analyzer read these pieces at twice their tempo on the full flux)."""
    part = Part(24.0, bpm=bpm, meter=meter, key=2, timbre="flute", subdivision=2)
    wav = tmp_path / "hats.wav"
    sf.write(wav, pieces.render([part], sr=SR, seed=meter), SR, subtype="FLOAT")
    tempo, structure = pipeline.run(wav, [("tempo", {}), ("audio_analysis", {})])
    tree = audio_analysis({r.id: r for r in structure.results})
    assert tempo.results[0].data[0] == pytest.approx(bpm, rel=0.01)
    assert tree.track.tempo == pytest.approx(bpm, rel=0.01)
    assert tree.track.time_signature == meter


def test_silence_gives_one_section_and_no_beats(tmp_path):
    silent = tmp_path / "zeros.wav"
    sf.write(silent, np.zeros(3 * SR, np.float32), SR)
    (outcome,) = pipeline.run(silent, [("audio_analysis", {})])
    tree = audio_analysis({r.id: r for r in outcome.results})
    assert len(tree.sections) == 1 and tree.sections[0].duration == pytest.approx(3.0, abs=0.01)
    assert tree.beats == tree.bars == tree.tatums == ()
    assert tree.track.tempo == 0 and tree.track.tempo_confidence == 0
