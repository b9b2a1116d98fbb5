"""Sample-domain statistics: level (peak and RMS, dBFS) and mean DC shift.

Unlike TimeSide, the RMS is the true RMS over every sample of every channel (TimeSide
averaged per-8192-block mean squares) and the DC shift has no spurious leading zero.
"""

from __future__ import annotations

import numpy as np

from timeside_gql.core.analyzers.common import to_db
from timeside_gql.core.context import Context, Signal
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

_NATIVE = Signal(rate=None, mono=False)


class _SampleSums(Processor):
    """Streams sums over the native multichannel samples."""

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.count = 0
        self.total = 0.0
        self.squares = 0.0
        self.peak = 0.0

    def needs(self) -> tuple[Signal]:
        return (_NATIVE,)

    def process(self, ctx: Context) -> None:
        data = ctx.get(_NATIVE).data
        if data.size:
            self.count += data.size
            self.total += float(np.sum(data, dtype=np.float64))
            flat = data.reshape(-1)  # a view: decoded blocks are C-contiguous (decode._rechunk)
            self.squares += float(np.dot(flat, flat))
            self.peak = max(self.peak, float(np.max(data)), -float(np.min(data)))


class Level(_SampleSums):
    pid = "level"
    name = "Level"
    version = "2.0"
    description = "Maximum sample peak and RMS level over all channels, in dBFS (sine RMS = -3 dB)."
    outputs = (
        OutputSpec("level.max", "Level Max", "dBFS", "value", "global"),
        OutputSpec("level.rms", "Level RMS", "dBFS", "value", "global"),
    )

    def finish(self, done: Done) -> Output:
        rms = np.sqrt(self.squares / self.count) if self.count else 0.0
        return Output(
            results=[
                self.result("level.max", done, value=to_db(self.peak, amplitude=True)),
                self.result("level.rms", done, value=to_db(rms, amplitude=True)),
            ]
        )


class MeanDCShift(_SampleSums):
    pid = "mean_dc_shift"
    name = "Mean DC shift"
    version = "2.0"
    description = "Mean of all samples of all channels, in percent of full scale."
    outputs = (OutputSpec("mean_dc_shift", "Mean DC shift", "%", "value", "global"),)

    def finish(self, done: Done) -> Output:
        mean = self.total / self.count if self.count else 0.0
        return Output(results=[self.result("mean_dc_shift", done, value=100.0 * mean)])
