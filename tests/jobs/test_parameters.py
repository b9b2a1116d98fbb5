"""One validation, one hash: a preset's row, its results' cache key and their provenance agree."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from tests.jobs.world import build_world
from timeside_gql.core import hdf5, params
from timeside_gql.core.registry import get_processor
from timeside_gql.db.engine import session_scope
from timeside_gql.db.experiences import set_presets
from timeside_gql.db.models import Experience, Item, Preset, Processor, Result, ResultStatus
from timeside_gql.db.presets import preset_for
from timeside_gql.db.visibility import SYSTEM
from timeside_gql.jobs import execution, lifecycle
from timeside_gql.jobs.results import cache_key
from timeside_gql.services import tasks

ONSETS = {"n_fft": 1024}
FILLED = {
    "backtrack": False,
    "delta": 0.07,
    "hop_length": 512,
    "min_flux": 0.1,
    "n_fft": 1024,
    "n_mels": 128,
    "rate": 22050,
    "top_db": 80.0,
    "wait": 0.03,
}
GRAPHER = {"analyzer": "onsets", "analyzer_parameters": ONSETS, "width": 64, "height": 32}


def _preset(session: Any, pid: str, raw: dict[str, Any]) -> Preset:
    processor = session.exec(select(Processor).where(Processor.pid == pid)).one()
    return preset_for(session, processor, raw)


def test_the_row_hash_is_the_cache_key_hash_and_the_provenance_hash(
    runtime, settings, engine, data_dir, parameter_checks
):
    """An analyzer preset and a grapher listing that same preset as its parent: each
    declaration is validated once (7 checks for this job before parameters had one form)."""
    world = build_world(engine, data_dir, amplitudes=(0.5,), failing=False, pids=())
    with session_scope(engine) as session:
        onsets = _preset(session, "onsets", ONSETS)
        grapher = _preset(session, "analyzer_grapher", GRAPHER)
        experience = session.get_one(Experience, world.experience_id)
        set_presets(session, experience, [onsets.id, grapher.id])
        onsets_hash = onsets.parameters_hash
        tasks.run_task(session, SYSTEM, world.task_id)
    assert len(parameter_checks) == 2  # creating the two rows
    assert onsets_hash == params.parameters_hash(FILLED)

    job_ids = execution.fan_out(world.task_id)
    with session_scope(engine) as session:
        plan = execution.plan_job(session, lifecycle.claim_job(session, job_ids[0], max_attempts=3))
    assert execution.compute(plan, engine=engine, settings=settings) is None
    # planning reads each row once; the pipeline checks only the parent the grapher lists
    assert len(parameter_checks) == 2 + 2 + 1
    assert parameter_checks[-1] == ONSETS

    with session_scope(engine) as session:
        item = session.get_one(Item, world.item_ids[0])
        rows = {
            r.preset_id: r for r in session.exec(select(Result).where(Result.item_id == item.id))
        }
        done = rows[onsets.id]
        assert done.status == ResultStatus.DONE and rows[grapher.id].status == ResultStatus.DONE
        version = str(get_processor("onsets").version)
        assert done.cache_key == cache_key(
            sha1=str(item.sha1), pid="onsets", version=version, parameters_hash=onsets_hash
        )
        stored = hdf5.read(data_dir / str(done.hdf5_path))
    assert {r.provenance["parameters_hash"] for r in stored} == {onsets_hash}
    assert stored[0].parameters == FILLED
