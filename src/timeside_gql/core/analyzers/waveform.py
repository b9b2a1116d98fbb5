"""Waveform peaks: min/max per bucket at native rate, stored as a multi-resolution pyramid.

Level 0 holds one (min, max) pair per ``samples_per_peak`` samples (bucket ``t`` covers
samples ``[t * size, (t + 1) * size)``, so its time is the bucket *start*); each further level
merges ``factor`` buckets of the previous one, down to a few hundred peaks. A viewer
picks the coarsest level with at least one peak per pixel, so any zoom is served
without decoding again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from timeside_gql.core.analyzers.common import integer
from timeside_gql.core.context import Context, Signal
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

MAX_LEVELS = 12


@dataclass(frozen=True, slots=True)
class WaveformParams:
    samples_per_peak: int
    factor: int
    min_peaks: int
    downmix: bool


class Waveform(Processor[WaveformParams]):
    pid = "waveform_analyzer"
    name = "Waveform"
    version = "2.0"
    description = (
        "Min/max sample peaks of the mono downmix (or each channel) per bucket, with "
        "coarser levels waveform_analyzer.level<k> (bucket = samples_per_peak * factor^k)."
    )
    parameters_schema = schema(
        {
            "samples_per_peak": integer(256, 1, 65536, "samples per bucket at the finest level"),
            "factor": integer(4, 2, 64, "buckets merged per coarser level"),
            "min_peaks": integer(256, 1, 1 << 20, "stop adding levels below this many peaks"),
            "downmix": {"type": "boolean", "default": True, "description": "mono downmix"},
        }
    )
    outputs = (
        OutputSpec("waveform_analyzer", "Waveform peaks", "", "value", "framewise"),
        *(
            OutputSpec(
                f"waveform_analyzer.level{k}",
                f"Waveform peaks, level {k}",
                "",
                "value",
                "framewise",
            )
            for k in range(1, MAX_LEVELS + 1)
        ),
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.signal = Signal(rate=None, mono=self.params.downmix)
        self.pending: np.ndarray | None = None
        self.mins: list[np.ndarray] = []
        self.maxs: list[np.ndarray] = []

    def needs(self) -> tuple[Signal]:
        return (self.signal,)

    def process(self, ctx: Context) -> None:
        data = np.atleast_2d(ctx.get(self.signal).data)
        if self.pending is not None:
            data = np.concatenate([self.pending, data], axis=1)
        size = self.params.samples_per_peak
        whole = data.shape[1] // size * size
        if whole:
            buckets = data[:, :whole].reshape(data.shape[0], -1, size)
            self._add(buckets.min(axis=2), buckets.max(axis=2))
        if ctx.eod and data.shape[1] > whole:
            tail = data[:, whole:]
            self._add(tail.min(axis=1, keepdims=True), tail.max(axis=1, keepdims=True))
        self.pending = None if ctx.eod else data[:, whole:]

    def _add(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        self.mins.append(mins)
        self.maxs.append(maxs)

    def finish(self, done: Done) -> Output:
        p = self.params
        channels = 1 if p.downmix else done.source.channels
        mins = np.concatenate(self.mins, axis=1) if self.mins else np.zeros((channels, 0))
        maxs = np.concatenate(self.maxs, axis=1) if self.maxs else np.zeros((channels, 0))
        results = []
        size = p.samples_per_peak
        for level in range(MAX_LEVELS + 1):
            peaks = np.stack([mins, maxs], axis=-1).transpose(1, 0, 2).astype(np.float32)
            value = peaks[:, 0, :] if p.downmix else peaks
            rid = "waveform_analyzer" if level == 0 else f"waveform_analyzer.level{level}"
            meta = (done.source.samplerate, size, size)
            results.append(self.result(rid, done, value=value, frames=meta))
            if mins.shape[1] <= p.min_peaks or level == MAX_LEVELS:
                break
            mins, maxs = (
                _merge(mins, p.factor, np.minimum),
                _merge(maxs, p.factor, np.maximum),
            )
            size *= p.factor
        return Output(results=results)


def _merge(values: np.ndarray, factor: int, reduce: np.ufunc) -> np.ndarray:
    """Reduce groups of ``factor`` consecutive buckets (the last group may be shorter)."""
    starts = np.arange(0, values.shape[1], factor)
    return reduce.reduceat(values, starts, axis=1)
