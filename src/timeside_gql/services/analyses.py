"""Writing the analysis catalogue and analysis tracks, and computing what tracks show.

An analysis names one output of its preset's processor: an analyzer's result id (drawn as a
vector, or as an image rendered from it), or, for a grapher, its picture (no output id). The
output is checked against the processor's declared outputs, so a track never points at data no
run can produce.
"""

from __future__ import annotations

import re
from uuid import UUID

from sqlmodel import Session, col, select

from timeside_gql.db import models as m
from timeside_gql.db.experiences import set_presets
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import Conflict, InvalidInput
from timeside_gql.services.inputs import AnalysisFields, AnalysisTrackFields
from timeside_gql.services.permissions import author_of, require_user
from timeside_gql.services.rows import assign, changes, fetch, fetch_many, fetch_owned
from timeside_gql.services.tasks import ACTIVE, start

COLOR = re.compile(r"^#[0-9a-f]{6}$")


# Results already there or on their way (a result row, or a task on the item not yet at it):
# computing them again would only queue a no-op.
UNDER_WAY = {m.ResultStatus.DONE, m.ResultStatus.PENDING, m.ResultStatus.RUNNING}


def create_analysis(session: Session, viewer: Viewer, data: AnalysisFields) -> m.Analysis:
    if not data.preset_id:
        raise InvalidInput("presetId is required", field="presetId")
    analysis = m.Analysis(author_id=author_of(viewer), preset_id=data.preset_id)
    return _apply_analysis(session, viewer, analysis, data)


def update_analysis(session: Session, viewer: Viewer, id: UUID, data: AnalysisFields) -> m.Analysis:
    return _apply_analysis(session, viewer, fetch_owned(session, viewer, m.Analysis, id), data)


def _apply_analysis(
    session: Session, viewer: Viewer, analysis: m.Analysis, data: AnalysisFields
) -> m.Analysis:
    assign(analysis, changes(data))
    preset = fetch(session, viewer, m.Preset, analysis.preset_id)
    check_output(session.get(m.Processor, preset.processor_id), analysis)  # type: ignore[arg-type]
    session.add(analysis)
    session.flush()
    return analysis


def check_output(processor: m.Processor, analysis: m.Analysis) -> None:
    """An analyzer's declared output, drawn either way; a grapher's picture, as an image."""
    if processor.kind is m.ProcessorKind.GRAPHER:
        if analysis.output_id is not None:
            raise InvalidInput(
                f"{processor.pid} draws a picture: outputId must be null", field="outputId"
            )
        if analysis.render_type is not m.RenderType.IMAGE:
            raise InvalidInput(f"{processor.pid} draws a picture: use IMAGE", field="renderType")
        return
    if processor.kind is not m.ProcessorKind.ANALYZER:
        raise InvalidInput(f"{processor.pid} is an {processor.kind.value}", field="presetId")
    outputs = [output["id"] for output in processor.outputs]
    if analysis.output_id not in outputs:
        raise InvalidInput(
            f"{processor.pid} outputs {', '.join(outputs) or 'nothing'}, "
            f"not {analysis.output_id!r}",
            field="outputId",
        )


def create_track(
    session: Session, viewer: Viewer, item_id: UUID, data: AnalysisTrackFields
) -> m.AnalysisTrack:
    """Anyone who sees an item and an analysis may show it there, on a track of their own."""
    item = fetch(session, viewer, m.Item, item_id)
    if not data.analysis_id:
        raise InvalidInput("analysisId is required", field="analysisId")
    track = m.AnalysisTrack(
        author_id=author_of(viewer), item_id=item.id, analysis_id=data.analysis_id
    )
    return _apply_track(session, viewer, track, data)


def update_track(
    session: Session, viewer: Viewer, id: UUID, data: AnalysisTrackFields
) -> m.AnalysisTrack:
    return _apply_track(session, viewer, fetch_owned(session, viewer, m.AnalysisTrack, id), data)


def _apply_track(
    session: Session, viewer: Viewer, track: m.AnalysisTrack, data: AnalysisTrackFields
) -> m.AnalysisTrack:
    values = changes(data)
    if values.get("analysis_id") is not None:
        fetch(session, viewer, m.Analysis, values["analysis_id"])
    if values.get("color") is not None:
        values["color"] = values["color"].strip().lower()
        if values["color"] and not COLOR.match(values["color"]):
            raise InvalidInput('color must be "#rrggbb" or empty', field="color")
    assign(track, values)
    session.add(track)
    session.flush()
    return track


def compute_tracks(
    session: Session, viewer: Viewer, item_id: UUID, track_ids: list[UUID] | None
) -> m.Task:
    """One task on the item whose experience holds the presets of the tracks still missing a
    result: the job layer runs it like any other (cache, locks, events), and the task records
    who asked for what."""
    owner = require_user(viewer)
    item = fetch(session, viewer, m.Item, item_id)
    presets = _missing_presets(session, viewer, item, track_ids)
    if not presets:
        raise Conflict("every track's result is done or under way")
    experience = m.Experience(
        title=f"Analysis tracks of {item.title}"[:512], author_id=owner, is_public=False
    )
    session.add(experience)
    session.flush()
    set_presets(session, experience, presets)
    task = m.Task(experience_id=experience.id, item_id=item.id, author_id=owner, is_public=False)
    session.add(task)
    session.flush()
    return start(session, task.id)


def _missing_presets(
    session: Session, viewer: Viewer, item: m.Item, track_ids: list[UUID] | None
) -> list[UUID]:
    """Presets of the visible tracks on the item (or of those named) without a live result."""
    if track_ids is None:
        on_item = select(m.AnalysisTrack.id).where(m.AnalysisTrack.item_id == item.id)
        track_ids = list(session.exec(on_item))
    tracks = fetch_many(session, viewer, m.AnalysisTrack, track_ids, field="trackIds")
    if any(track.item_id != item.id for track in tracks):
        raise InvalidInput("tracks must be on the item", field="trackIds")
    analysis_ids = [track.analysis_id for track in tracks]
    analyses = fetch_many(session, viewer, m.Analysis, analysis_ids, field="analysisId")
    wanted = list(dict.fromkeys(analysis.preset_id for analysis in analyses))
    results = select(m.Result.preset_id).where(
        m.Result.item_id == item.id, col(m.Result.status).in_(UNDER_WAY)
    )
    queued = (
        select(m.ExperiencePreset.preset_id)
        .join(m.Task, col(m.Task.experience_id) == col(m.ExperiencePreset.experience_id))
        .where(m.Task.item_id == item.id, col(m.Task.status).in_(ACTIVE))
    )
    live = set(session.exec(results)) | set(session.exec(queued))
    return [preset_id for preset_id in wanted if preset_id not in live]
