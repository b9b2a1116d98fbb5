"""Graphers: PNG pictures of the sound (waveforms, spectrograms) and of any analyzer result.

Importing the package registers the grapher processors.
"""

from timeside_gql.core.graphers import analysis as analysis
from timeside_gql.core.graphers import spectrogram as spectrogram
from timeside_gql.core.graphers import waveform as waveform
from timeside_gql.core.graphers.render import RenderError, render

__all__ = ["RenderError", "render"]
