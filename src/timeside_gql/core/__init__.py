"""The audio analysis library: decoding, processors, results. Never imports the server.

librosa's numba kernels compile on first use (seconds); caching them on disk makes every
later process start warm. Set NUMBA_CACHE_DIR yourself to put the cache elsewhere.
"""

import os as _os

_os.environ.setdefault(
    "NUMBA_CACHE_DIR", _os.path.join(_os.path.expanduser("~"), ".cache", "timeside-gql", "numba")
)
