"""glibc's allocator, told to keep freed memory in a process that analyses audio.

numpy allocates each block's arrays afresh (frames, spectra, filtered signals: 0.1 to
30 MB each). With glibc's defaults an array above the (dynamic) mmap threshold is mapped
and unmapped each time, and the heap's free top is given back to the kernel beyond
128 KB, so blocks fault their pages in again. Measured on the default experience, per
minute of 44.1 kHz stereo: with blocks of 1 << 18 samples 6 000 to 14 000 minor faults and
15 to 30 ms of system CPU, ~300 faults kept; with the pipeline's 1 << 16, 1 700 to 5 000
faults, ~1 300 kept (tests/core/test_memory.py). Peak RSS does not grow: the memory kept
was in use at the peak anyway; it is just not returned between blocks.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # the largest glibc accepts on 64-bit
TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> bool:
    """Serve arrays up to 32 MB from the heap and keep up to 256 MB of freed memory at its
    top; True when the C library took both settings (glibc), False elsewhere (musl, macOS:
    nothing changes)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
