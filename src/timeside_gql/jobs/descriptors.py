"""Similarity descriptors copied from their results into ``item_descriptors``.

Search compares one item's vector with every other's: reading thousands of HDF5 files per
query would not do, so each done ``similarity_descriptors`` result also writes its vector
(with the tempo and key it encodes) to the item's row, in the transaction that records or
reuses the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session

from timeside_gql.core import hdf5
from timeside_gql.core.similarity import key_of, tempo_of
from timeside_gql.db.models import ItemDescriptor, Result, ResultStatus
from timeside_gql.jobs.results import PresetRun
from timeside_gql.storage.files import result_path

PID = "similarity_descriptors"


def record(
    session: Session, runs: Iterable[PresetRun], results: Iterable[Result], *, data_dir: Path
) -> None:
    """Upsert the descriptor rows of the done descriptor results among ``results``."""
    descriptor_presets = {run.preset_id for run in runs if run.pid == PID}
    for result in results:
        if result.preset_id in descriptor_presets and result.status is ResultStatus.DONE:
            _upsert(session, result, data_dir)


def _upsert(session: Session, result: Result, data_dir: Path) -> None:
    if not result.hdf5_path:
        return
    (stored,) = hdf5.read(result_path(data_dir, result.hdf5_path), [PID])
    vector = np.asarray(stored.data_object.value, np.float32).ravel()
    values: dict[str, Any] = {
        "result_id": result.id,
        "version": str(result.processor_version or ""),
        "vector": [float(v) for v in vector],
        "tempo": tempo_of(vector),
        "key": key_of(vector),
    }
    row = session.get(ItemDescriptor, result.item_id)
    if row is None:
        row = ItemDescriptor(item_id=result.item_id, **values)
    else:
        row.sqlmodel_update(values)
    session.add(row)
