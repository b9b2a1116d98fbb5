"""Silence and non-silence segments from frame RMS against a dBFS threshold.

Fixes TimeSide's aubio_silence (inverted labels, a +80 dB threshold that made every
block silent): frames quieter than ``threshold_db`` are silent, and silent runs shorter
than ``min_silence`` are absorbed into their surroundings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from timeside_gql.core.analyzers.common import FFT, HOP_LENGTH, RATE, FrameCollector, number, to_db
from timeside_gql.core.context import Context, Frames, Need
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

SILENCE, SOUND = 0, 1


def runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start index, length, value) of each run of equal consecutive values."""
    if not flags.size:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, flags.dtype)
    change = np.flatnonzero(np.diff(flags)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flags.size]]))
    return starts, lengths, flags[starts]


@dataclass(frozen=True, slots=True)
class SilenceParams:
    threshold_db: float
    min_silence: float
    rate: int
    frame_length: int
    hop_length: int


class Silence(Processor[SilenceParams]):
    pid = "silence"
    name = "Silence"
    version = "1.0"
    description = "Segments labelled Silence / Not Silence by frame RMS level (dBFS)."
    parameters_schema = schema(
        {
            "threshold_db": number(-60.0, -120.0, 0.0, "frames below this RMS (dBFS) are silent"),
            "min_silence": number(0.1, 0.0, 60.0, "shorter silences count as sound (s)"),
            "rate": RATE,
            "frame_length": {**FFT, "default": 1024},
            "hop_length": {**HOP_LENGTH, "default": 256, "description": "boundary resolution"},
        }
    )
    outputs = (OutputSpec("silence", "Silence", "", "label", "segment"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.frames = Frames(p.rate, p.frame_length, p.hop_length)
        self.levels = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.frames,)

    def process(self, ctx: Context) -> None:
        block = ctx.get(self.frames)
        if block.count:
            p = self.params
            squares = np.square(block.data, dtype=np.float64)
            sums = np.concatenate([[0.0], np.cumsum(squares)])
            starts = np.arange(block.count) * p.hop_length
            mean_square = (sums[starts + p.frame_length] - sums[starts]) / p.frame_length
            # dBFS with a full-scale sine at -3 dB, as the level analyzer
            self.levels.add(to_db(mean_square))

    def finish(self, done: Done) -> Output:
        p = self.params
        hop = p.hop_length / p.rate
        flags = np.where(self.levels.frames() < p.threshold_db, SILENCE, SOUND)
        starts, _, values = runs(flags)
        total = done.source.duration
        # A frame is silent only if its whole window is: silence starts half a window
        # after the centre of the last sounding frame and ends half a window after the
        # centre of the last silent one.
        half = p.frame_length / 2 / p.rate
        inner = starts[1:]
        edges = np.where(values[1:] == SILENCE, inner * hop - half, (inner - 1) * hop + half)
        edges = np.maximum.accumulate(np.clip(np.concatenate([[0.0], edges, [total]]), 0, total))
        values = values.copy()
        values[(values == SILENCE) & (np.diff(edges) < p.min_silence)] = SOUND
        keep = np.concatenate([[True], values[1:] != values[:-1]]) if values.size else values
        begin = edges[:-1][keep]
        end = np.concatenate([begin[1:], [total]]) if begin.size else begin
        return Output(
            results=[
                self.result(
                    "silence",
                    done,
                    label=values[keep],
                    time=begin,
                    duration=end - begin,
                    labels={SILENCE: "Silence", SOUND: "Not Silence"},
                )
            ]
        )
