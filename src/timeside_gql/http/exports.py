"""Annotation tracks and event/segment results as files annotation tools open.

``GET /exports/annotation-tracks/{id}.{fmt}`` and ``GET /exports/results/{id}.{fmt}[?output=]``
with ``fmt`` one of ``core.labels.FORMATS`` (jams, svl, eaf, txt for Audacity, csv). They
authenticate like the media routes (bearer token or signed URL) and answer 404 for what the
viewer may not see; the writers are the library's pure functions.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import h5py
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from timeside_gql.core import hdf5
from timeside_gql.core import labels as lb
from timeside_gql.core.results import AnalyzerResult
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.access import get_visible, read_visible
from timeside_gql.http.auth import app_services
from timeside_gql.http.media import content_disposition, safe_filename
from timeside_gql.storage.files import result_path

TIMED = ("event", "segment")


def _format(request: Request) -> lb.Format:
    fmt = lb.FORMATS.get(request.path_params["fmt"])
    if fmt is None:
        raise HTTPException(404, f"no export format {request.path_params['fmt']!r}; "
                                 f"use {', '.join(lb.FORMATS)}")  # fmt: skip
    return fmt


def _download(layer: lb.Layer, fmt: lb.Format, title: str) -> Response:
    """The file; ``private`` as media responses: what a viewer may read is not for shared
    caches (a signed URL carries no Authorization header that would keep them off)."""
    headers = content_disposition("attachment", safe_filename(title, fmt.extension))
    return Response(
        fmt.write(layer),
        media_type=fmt.media_type,
        headers=headers | {"cache-control": "private"},
    )


async def annotation_track(request: Request) -> Response:
    fmt = _format(request)

    def load(session: Session, viewer: Viewer) -> tuple[lb.Layer, str]:
        track = get_visible(session, m.AnnotationTrack, request.path_params["id"], viewer)
        return track_layer(session, track), track.title or "annotations"

    layer, title = await read_visible(request, load)
    return _download(layer, fmt, title)


def track_layer(session: Session, track: m.AnnotationTrack) -> lb.Layer:
    """Annotations in time order, labelled by title (or their tags when untitled)."""
    item = session.get(m.Item, track.item_id)
    assert item is not None  # a visible track has a visible item
    annotations = session.exec(
        select(m.Annotation)
        .where(m.Annotation.track_id == track.id)
        .order_by(col(m.Annotation.start), col(m.Annotation.stop), col(m.Annotation.id))
    ).all()
    tags = _tag_names(session, [a.id for a in annotations])
    labels = [
        lb.Label(a.start, a.stop, a.title or ", ".join(tags.get(a.id, []))) for a in annotations
    ]
    return _layer(item, track.title or "annotations", labels, source="annotation")


def _tag_names(session: Session, ids: list[UUID]) -> dict[UUID, list[str]]:
    rows = session.exec(
        select(m.AnnotationTag.annotation_id, m.Tag.name)
        .join(m.Tag, col(m.Tag.id) == col(m.AnnotationTag.tag_id))
        .where(col(m.AnnotationTag.annotation_id).in_(ids))
        .order_by(col(m.Tag.name))
    )
    names: dict[UUID, list[str]] = {}
    for annotation_id, name in rows:
        names.setdefault(annotation_id, []).append(name)
    return names


async def result(request: Request) -> Response:
    fmt = _format(request)
    settings, _ = app_services(request)
    wanted = request.query_params.get("output")

    def load(session: Session, viewer: Viewer) -> tuple[lb.Layer, str]:
        row = get_visible(session, m.Result, request.path_params["id"], viewer)
        item = get_visible(session, m.Item, row.item_id, viewer)
        if row.status != m.ResultStatus.DONE or not row.hdf5_path:
            raise HTTPException(404, f"result {row.id} is {row.status.value}, with no data yet")
        try:
            path = result_path(Path(settings.data_dir), row.hdf5_path)
        except FileNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        stored = _labelled_output(path, wanted)
        layer = _layer(item, stored.id, lb.from_result(stored), source=stored.id)
        return layer, f"{item.title}_{stored.id}"

    layer, title = await read_visible(request, load)
    return _download(layer, fmt, title)


def _labelled_output(path: Path, wanted: str | None) -> AnalyzerResult:
    """The output asked for, or the result's only event/segment output (modes read from the
    group attributes: no dataset is loaded but the one exported)."""
    if not path.is_file():  # a done row whose file went (deleted by hand, a lost disk)
        raise HTTPException(404, f"the file of this result is missing: {path.name}")
    with h5py.File(path, "r") as h5:
        timed = [rid for rid in h5 if h5[rid].attrs.get("time_mode") in TIMED]
    if not timed:
        raise HTTPException(404, "no event or segment output in this result")
    if wanted is not None and wanted not in timed:
        raise HTTPException(404, f"no event or segment output {wanted!r} in this result")
    if wanted is None and len(timed) != 1:
        names = ", ".join(timed)
        raise HTTPException(400, f"choose ?output= among the event/segment outputs: {names}")
    [stored] = hdf5.read(path, ids=[wanted or timed[0]])
    return stored


def _layer(item: m.Item, name: str, labels: list[lb.Label], *, source: str) -> lb.Layer:
    return lb.Layer(
        name=name,
        labels=labels,
        duration=item.audio_duration,
        samplerate=item.samplerate,
        title=item.title,
        artist=item.artist,
        source=source,
    )


routes: list[BaseRoute] = [
    Route("/exports/annotation-tracks/{id:uuid}.{fmt}", annotation_track, methods=["GET"]),
    Route("/exports/results/{id:uuid}.{fmt}", result, methods=["GET"]),
]
