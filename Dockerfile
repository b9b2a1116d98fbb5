# syntax=docker/dockerfile:1
# One image for the server, the workers and the admin commands (see compose.yaml).
# No system audio libraries: the PyAV, soundfile and h5py wheels bundle FFmpeg, libsndfile, HDF5.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIMESIDE_DATA_DIR=/var/lib/timeside \
    NUMBA_CACHE_DIR=/var/lib/timeside/cache/numba
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels timeside-gql \
 && useradd --system --create-home timeside \
 && mkdir -p /var/lib/timeside \
 && chown timeside /var/lib/timeside
USER timeside
WORKDIR /home/timeside
VOLUME /var/lib/timeside
EXPOSE 8000
ENTRYPOINT ["timeside-gql"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
