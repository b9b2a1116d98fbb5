"""Shared intermediates for one audio item, computed block by block, once each.

A :class:`Need` is a frozen, hashable description of an intermediate (``Spectrum(22050,
2048, 512)``). The :class:`Context` keeps one stateful node per distinct Need and, for
each decoded block, computes each node at most once, whatever the number of processors
asking for it. Nodes depend on other Needs, so e.g. ``LogMel`` reuses the ``Spectrum``
that the spectral descriptors read.

Framing follows librosa's ``center=True`` with zero padding: frame ``t`` is centred on
sample ``t * hop`` of the signal and a signal of ``n`` samples has ``1 + n // hop``
frames, so a frame-local feature computed block by block equals the whole-signal one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import librosa
import numpy as np
import scipy.fft
import scipy.sparse
import soxr

from timeside_gql.core.decode import StreamFormat

_AMIN = 1e-10


@dataclass(frozen=True, slots=True)
class Block:
    """New samples: ``data`` is 1-D (mono) or (channels, n); ``start`` is a sample index."""

    start: int
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class FrameBlock:
    """Consecutive frames ``start .. start + count - 1``; ``data`` has frames on its last axis.

    For :class:`Frames`, ``data`` is instead the 1-D padded sample segment covering those
    frames (pass it to a librosa function with ``center=False``).
    """

    start: int
    count: int
    data: np.ndarray


class Need:
    """Base of intermediate descriptions; subclasses are frozen dataclasses."""

    node_class: ClassVar[type[Node]]

    def node(self, ctx: Context) -> Node:
        return self.node_class(self, ctx)


class Node:
    def __init__(self, need: Any, ctx: Context) -> None:
        self.need = need
        self.ctx = ctx

    def compute(self) -> Any:
        raise NotImplementedError


class Context:
    """The intermediates of one item; the pipeline advances it block by block."""

    def __init__(self, fmt: StreamFormat) -> None:
        self.samplerate = fmt.samplerate
        self.channels = fmt.channels
        self.expected_duration = fmt.duration
        self.eod = False
        self.position = 0  # native sample index of the current block
        self.block = np.zeros((fmt.channels, 0), np.float32)
        self._nodes: dict[Need, Node] = {}
        self._cache: dict[Need, Any] = {}
        self.computations: Counter[Need] = Counter()  # how often each Need was computed

    def advance(self, block: np.ndarray, *, eod: bool) -> None:
        self.position += self.block.shape[-1]
        self.block = block
        self.eod = eod
        self._cache.clear()

    def get(self, need: Need) -> Any:
        """This block's share of ``need`` (computed on first request, then reused)."""
        if need in self._cache:
            value = self._cache[need]
            if isinstance(value, _Failure):
                raise value.error
            return value
        node = self._nodes.get(need)
        if node is None:
            node = self._nodes[need] = need.node(self)
        self.computations[need] += 1
        try:
            value = node.compute()
        except Exception as exc:
            self._cache[need] = _Failure(exc)
            raise
        self._cache[need] = value
        return value


@dataclass(slots=True)
class _Failure:
    error: Exception


# --- samples -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal(Need):
    """Samples at ``rate`` (None: native), mono downmix (1-D) or all channels (2-D)."""

    rate: int | None = None
    mono: bool = True


class _SignalNode(Node):
    need: Signal

    def __init__(self, need: Signal, ctx: Context) -> None:
        super().__init__(need, ctx)
        self.emitted = 0
        self.resampler: soxr.ResampleStream | None = None
        rate = need.rate or ctx.samplerate
        if rate != ctx.samplerate:
            channels = 1 if need.mono else ctx.channels
            self.resampler = soxr.ResampleStream(ctx.samplerate, rate, channels, dtype="float32")

    def compute(self) -> Block:
        data = self.ctx.block
        if self.need.mono:
            data = np.add.reduce(data, axis=0) * np.float32(1 / data.shape[0])
        if self.resampler is not None:
            out = self.resampler.resample_chunk(np.ascontiguousarray(data.T), last=self.ctx.eod)
            data = np.ascontiguousarray(out.T)
        block = Block(self.emitted, data)
        self.emitted += data.shape[-1]
        return block


Signal.node_class = _SignalNode


@dataclass(frozen=True, slots=True)
class Frames(Need):
    """Centred frames of the mono signal at ``rate``, delivered as padded sample segments."""

    rate: int
    frame_length: int
    hop: int


class _FramesNode(Node):
    need: Frames

    def __init__(self, need: Frames, ctx: Context) -> None:
        super().__init__(need, ctx)
        self.buffer = np.zeros(need.frame_length // 2, np.float32)
        self.buffer_start = 0  # padded index of buffer[0]
        self.next_frame = 0
        self.received = 0

    def compute(self) -> FrameBlock:
        length, hop = self.need.frame_length, self.need.hop
        new = self.ctx.get(Signal(self.need.rate, mono=True)).data
        self.received += new.size
        parts = [self.buffer, new]
        if self.ctx.eod:
            parts.append(np.zeros(length - length // 2, np.float32))
        buffer = np.concatenate(parts)
        end = self.buffer_start + buffer.size
        stop = 1 + self.received // hop if self.ctx.eod else (end - length) // hop + 1
        first = self.next_frame
        count = max(stop - first, 0)
        lo = first * hop - self.buffer_start
        segment = buffer[lo : lo + (count - 1) * hop + length] if count else buffer[:0]
        keep = (first + count) * hop - self.buffer_start
        self.buffer = buffer[keep:].copy()
        self.buffer_start += keep
        self.next_frame = first + count
        return FrameBlock(first, count, segment)


Frames.node_class = _FramesNode


# --- spectra ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spectrum(Need):
    """STFT magnitude (bins, frames), float32."""

    rate: int
    n_fft: int
    hop: int
    window: str = "hann"

    @property
    def frames(self) -> Frames:
        return Frames(self.rate, self.n_fft, self.hop)


class _SpectrumNode(Node):
    """|rfft| of windowed frames with scipy.fft in float32 (librosa's default numpy FFT
    computes in complex128, twice the work)."""

    need: Spectrum

    @cached_property
    def window(self) -> np.ndarray:
        return librosa.filters.get_window(self.need.window, self.need.n_fft, fftbins=True).astype(
            np.float32
        )

    def compute(self) -> FrameBlock:
        n = self.need
        block = self.ctx.get(n.frames)
        if not block.count:
            return FrameBlock(block.start, 0, np.zeros((n.n_fft // 2 + 1, 0), np.float32))
        frames = librosa.util.frame(block.data, frame_length=n.n_fft, hop_length=n.hop).T
        spectrum = scipy.fft.rfft(frames * self.window, axis=1)
        return FrameBlock(block.start, block.count, np.ascontiguousarray(np.abs(spectrum).T))


Spectrum.node_class = _SpectrumNode


@dataclass(frozen=True, slots=True)
class MelPower(Need):
    """Mel-band power (n_mels, frames) from the power spectrum; Slaney mel filters."""

    rate: int
    n_fft: int
    hop: int
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None

    @property
    def spectrum(self) -> Spectrum:
        return Spectrum(self.rate, self.n_fft, self.hop)


class _MelNode(Node):
    need: MelPower

    @cached_property
    def filters(self) -> scipy.sparse.csr_array:
        """Mel filters overlap only their neighbours: sparse, ~25x fewer multiplications."""
        n = self.need
        dense = librosa.filters.mel(
            sr=n.rate, n_fft=n.n_fft, n_mels=n.n_mels, fmin=n.fmin, fmax=n.fmax
        )
        return scipy.sparse.csr_array(dense.astype(np.float32))

    def compute(self) -> FrameBlock:
        spec = self.ctx.get(self.need.spectrum)
        power = np.square(spec.data)
        return FrameBlock(spec.start, spec.count, np.asarray(self.filters @ power, np.float32))


MelPower.node_class = _MelNode


@dataclass(frozen=True, slots=True)
class LogMel(Need):
    """Mel power in dB re 1.0 (no per-block top_db clipping, so blocks agree)."""

    mel: MelPower


class _LogMelNode(Node):
    need: LogMel

    def compute(self) -> FrameBlock:
        mel = self.ctx.get(self.need.mel)
        return FrameBlock(mel.start, mel.count, power_db(mel.data))


LogMel.node_class = _LogMelNode


def power_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _AMIN))


@dataclass(frozen=True, slots=True)
class OnsetStrength(Need):
    """Spectral flux of the log-mel spectrogram (librosa's onset_strength, mean over bands)."""

    mel: MelPower


class _OnsetNode(Node):
    need: OnsetStrength

    def __init__(self, need: OnsetStrength, ctx: Context) -> None:
        super().__init__(need, ctx)
        self.previous: np.ndarray | None = None

    def compute(self) -> FrameBlock:
        log_mel = self.ctx.get(LogMel(self.need.mel))
        if not log_mel.count:
            return FrameBlock(log_mel.start, 0, np.zeros(0, np.float32))
        first = log_mel.data[:, :1] if self.previous is None else self.previous
        reference = np.concatenate([first, log_mel.data[:, :-1]], axis=1)
        flux = np.maximum(log_mel.data - reference, 0.0).mean(axis=0)
        self.previous = log_mel.data[:, -1:]
        return FrameBlock(log_mel.start, log_mel.count, flux.astype(np.float32))


OnsetStrength.node_class = _OnsetNode


@dataclass(frozen=True, slots=True)
class Chroma(Need):
    """12-bin chroma from the power spectrum (A440 tuning), each frame max-normalised."""

    spectrum: Spectrum
    n_chroma: int = 12


class _ChromaNode(Node):
    need: Chroma

    @cached_property
    def filters(self) -> np.ndarray:
        s = self.need.spectrum
        return librosa.filters.chroma(
            sr=s.rate, n_fft=s.n_fft, n_chroma=self.need.n_chroma, tuning=0.0
        ).astype(np.float32)

    def compute(self) -> FrameBlock:
        spec = self.ctx.get(self.need.spectrum)
        raw = self.filters @ np.square(spec.data)
        peak = raw.max(axis=0, keepdims=True)
        chroma = np.divide(raw, peak, out=np.zeros_like(raw), where=peak > _AMIN)
        return FrameBlock(spec.start, spec.count, chroma)


Chroma.node_class = _ChromaNode
