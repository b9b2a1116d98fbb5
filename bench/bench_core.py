"""Benchmark the default experience against a plain librosa script.

    python bench/bench_core.py [FOLDER] [--files 6 --minutes 1] [--long-hours 2] [--skip-plain]
                               [--default-allocator]

Without FOLDER, synthetic music-like files (chords, drums, noise; 44.1 kHz stereo; wav,
flac and mp3) are generated in a temporary folder. Each side runs in a fresh process
pinned to one thread; numba's compilation is paid once per process in a warm-up on a
short signal (cache in NUMBA_CACHE_DIR) and not counted. Both sides keep freed memory for
reuse as a worker does at boot (``core.memory.keep_freed_memory``; the plain script gains
from it too), unless ``--default-allocator``. Prints seconds of audio per CPU second and
peak RSS; ``--long-hours`` also measures peak RSS on one long synthetic file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
SR = 44100
SEGMENT = 10.0  # seconds synthesised at a time, so long files need little memory


def machine() -> str:
    """The Machine line of docs/performance.md: the CPU model as /proc/cpuinfo names it
    (``platform.processor()`` is empty on Linux), CPUs, load average, Python."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        model = names[0] if names else model
    return (
        f"{model}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}"
    )


def synth_segment(rng: np.random.Generator, seconds: float, sr: int = SR) -> np.ndarray:
    """Two chords, a drum pattern at a random tempo and a little noise; stereo float32."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = np.zeros(n)
    for half in range(2):
        root = rng.integers(48, 60)
        span = slice(half * n // 2, (half + 1) * n // 2)
        for interval in (0, 4, 7, 12):
            freq = 440 * 2 ** ((root + interval - 69) / 12)
            y[span] += 0.12 * np.sin(2 * np.pi * freq * t[span]) * np.exp(-0.4 * (t[span] % 2))
    beat = 60 / rng.uniform(80, 160)
    for onset in np.arange(0, seconds - 0.1, beat):
        i = int(onset * sr)
        hit = rng.standard_normal(int(0.05 * sr)) * np.exp(-np.linspace(0, 8, int(0.05 * sr)))
        y[i : i + hit.size] += 0.3 * hit
    y += 0.01 * rng.standard_normal(n)
    return np.stack([y, 0.8 * y + 0.05 * np.roll(y, 300)]).astype(np.float32)


def write_synthetic(path: Path, seconds: float, seed: int) -> Path:
    """Write ``seconds`` of synthetic stereo audio; WAV/FLAC stream, mp3 via PyAV."""
    rng = np.random.default_rng(seed)
    segments = int(np.ceil(seconds / SEGMENT))
    if path.suffix in {".wav", ".flac"}:
        with sf.SoundFile(path, "w", SR, 2, subtype="PCM_16") as out:
            for _ in range(segments):
                out.write(synth_segment(rng, SEGMENT).T)
        return path
    from timeside_gql.core import samples

    audio = np.concatenate([synth_segment(rng, SEGMENT) for _ in range(segments)], axis=1)
    return samples.write(path, audio, SR)


def generate(folder: Path, files: int, minutes: float) -> list[Path]:
    formats = (".wav", ".flac", ".mp3")
    return [
        write_synthetic(folder / f"synthetic{i}{formats[i % 3]}", minutes * 60, seed=i)
        for i in range(files)
    ]


# --- the two sides -----------------------------------------------------------------------


def run_ours(path: Path) -> None:
    from timeside_gql.core import pipeline
    from timeside_gql.core.experience import DEFAULT_EXPERIENCE

    for outcome in pipeline.run(path, DEFAULT_EXPERIENCE):
        if outcome.error:
            raise RuntimeError(f"{outcome.pid}: {outcome.error}")


def run_plain(path: Path) -> None:
    """What a script would do: load, then one librosa call per feature (level, peaks and
    loudness measured on the loaded 22050 Hz mono signal)."""
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    _sample_statistics(y[None], sr)
    _librosa_features(y, sr)


def run_plain_native(path: Path) -> None:
    """The same script measuring level, peaks and loudness on the original channels at the
    original rate, as the default experience does (one load, then downmix and resample)."""
    import librosa

    native, native_sr = librosa.load(path, sr=None, mono=False)
    native = np.atleast_2d(native)
    _sample_statistics(native, native_sr)
    y = librosa.resample(librosa.to_mono(native), orig_sr=native_sr, target_sr=22050)
    _librosa_features(y, 22050)


def _sample_statistics(y: np.ndarray, sr: int) -> None:
    import pyloudnorm

    mono = y.mean(axis=0)
    whole = mono.size // 256 * 256
    blocks = mono[:whole].reshape(-1, 256)
    _peaks = blocks.min(axis=1), blocks.max(axis=1)
    _level = np.abs(y).max(), np.sqrt(np.mean(y**2))
    _loudness = pyloudnorm.Meter(sr).integrated_loudness(y.T)


def _librosa_features(y: np.ndarray, sr: int) -> None:
    import librosa

    _mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr))
    _onsets = librosa.onset.onset_detect(y=y, sr=sr)
    _tempo, _beats = librosa.beat.beat_track(y=y, sr=sr)
    _f0 = librosa.yin(y, fmin=40, fmax=2093, sr=sr, frame_length=2048)
    _mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    _chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    _centroid = librosa.feature.spectral_centroid(y=y, sr=sr)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


SIDES = {"ours": run_ours, "plain": run_plain, "plain-native": run_plain_native}


def worker(side: str, files: list[Path], warmup: Path, *, keep: bool) -> dict[str, float]:
    func = SIDES[side]
    if keep:
        from timeside_gql.core.memory import keep_freed_memory

        keep_freed_memory()
    func(warmup)  # numba compilation, caches, imports
    audio = sum(sf.info(f).duration if f.suffix != ".mp3" else _duration(f) for f in files)
    start_cpu, start_wall = cpu_seconds(), time.perf_counter()
    for path in files:
        func(path)
    return {
        "audio_seconds": audio,
        "cpu_seconds": cpu_seconds() - start_cpu,
        "wall_seconds": time.perf_counter() - start_wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _duration(path: Path) -> float:
    from timeside_gql.core.decode import probe

    return probe(path).duration


def measure(side: str, files: list[Path], warmup: Path, *, keep: bool) -> dict[str, float]:
    """Run a worker in a fresh single-threaded process and return its JSON report."""
    env = {**os.environ, **SINGLE_THREAD}
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "numba"))
    cmd = [sys.executable, __file__, "--worker", side, "--warmup", str(warmup)]
    cmd += ([] if keep else ["--default-allocator"]) + [str(f) for f in files]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(name: str, m: dict[str, float]) -> str:
    speed = m["audio_seconds"] / m["cpu_seconds"]
    return (
        f"| {name} | {m['audio_seconds']:.0f} | {m['cpu_seconds']:.2f} | {speed:.0f}x "
        f"| {m['peak_rss_mb']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--long-hours", type=float, default=0.0)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--default-allocator", action="store_true")
    parser.add_argument("--worker", choices=tuple(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        files = ([args.folder] if args.folder else []) + args.paths
        print(json.dumps(worker(args.worker, files, args.warmup, keep=not args.default_allocator)))
        return

    keep = not args.default_allocator
    with tempfile.TemporaryDirectory(prefix="bench-core-") as scratch:
        scratch_dir = Path(scratch)
        warmup = write_synthetic(scratch_dir / "warmup.wav", 3.0, seed=99)
        if args.folder:
            files = sorted(p for p in args.folder.iterdir() if p.is_file())
        else:
            files = generate(scratch_dir, args.files, args.minutes)
        print(
            f"machine: {machine()}; files: {len(files)} "
            f"({', '.join(sorted({p.suffix for p in files}))}); "
            f"allocator: {'freed memory kept' if keep else 'glibc defaults'}"
        )
        print("| implementation | audio s | CPU s | audio s per CPU s | peak RSS MB |")
        print("|---|---|---|---|---|")
        ours = measure("ours", files, warmup, keep=keep)
        print(row("timeside-gql default experience", ours), flush=True)
        if not args.skip_plain:
            labels = {
                "plain": "plain librosa, one call per feature (loudness on 22050 Hz mono)",
                "plain-native": "plain librosa, loudness and level on the native channels",
            }
            speeds = {}
            for side, label in labels.items():
                plain = measure(side, files, warmup, keep=keep)
                print(row(label, plain), flush=True)
                speeds[side] = plain["audio_seconds"] / plain["cpu_seconds"]
            ours_speed = ours["audio_seconds"] / ours["cpu_seconds"]
            print(
                "speed-up: " + ", ".join(f"{ours_speed / v:.1f}x vs {k}" for k, v in speeds.items())
            )
        if args.long_hours:
            long_file = write_synthetic(scratch_dir / "long.wav", args.long_hours * 3600, 7)
            print(
                row(
                    f"timeside-gql, one {args.long_hours:g} h file",
                    measure("ours", [long_file], warmup, keep=keep),
                )
            )


if __name__ == "__main__":
    main()
