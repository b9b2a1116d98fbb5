"""Delete rules (docs/data-model.md): what cascades, what is refused, and no orphan files."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, func, select

from tests.db import factories
from timeside_gql.db.auth import issue_token
from timeside_gql.db.deletion import delete
from timeside_gql.db.errors import DeleteRefusedError
from timeside_gql.db.experiences import set_presets
from timeside_gql.db.models import (
    Annotation,
    AnnotationTrack,
    ApiToken,
    Item,
    ItemTag,
    Job,
    Preset,
    Provider,
    Result,
    SelectionChild,
    SelectionItem,
    Tag,
    Task,
)
from timeside_gql.db.selections import set_children


def count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def touch(data_dir: Path, relative: str) -> Path:
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"data")
    return path


def test_deleting_an_item_takes_its_derived_rows_and_files_after_commit(
    session: Session, tmp_path: Path
) -> None:
    item = factories.item(session, source_file="media/a.wav")
    keeper = factories.item(session, "keeper")
    pre = factories.preset(session, factories.processor(session))
    hdf5 = touch(tmp_path, f"results/{item.id}/r.h5")
    png = touch(tmp_path, f"results/{item.id}/r.png")
    source = touch(tmp_path, "media/a.wav")
    factories.result(session, item, pre, hdf5_path=f"results/{item.id}/r.h5")
    factories.result(
        session,
        item,
        factories.preset(session, pre.processor, x=1),
        file_path=f"results/{item.id}/r.png",
    )
    factories.result(session, keeper, pre)
    exp = factories.experience(session)
    on_item = factories.task(session, exp, item_id=item.id)
    selection = factories.selection(session, items=[item, keeper])
    on_selection = factories.task(session, exp, selection_id=selection.id)
    factories.add(session, Job(task_id=on_selection.id, item_id=item.id))
    factories.add(session, Job(task_id=on_selection.id, item_id=keeper.id))
    track = factories.add(session, AnnotationTrack(item_id=item.id))
    factories.add(session, Annotation(track_id=track.id, stop=1.0))
    tag = factories.add(session, Tag(name="voice"))
    factories.add(session, ItemTag(item_id=item.id, tag_id=tag.id))
    shared = factories.add(session, Tag(name="shared"))  # also on the keeper: it stays
    factories.add(session, ItemTag(item_id=item.id, tag_id=shared.id))
    factories.add(session, ItemTag(item_id=keeper.id, tag_id=shared.id))
    session.commit()

    delete(session, item, data_dir=tmp_path)
    assert hdf5.exists() and source.exists(), "files stay until the delete is committed"
    session.commit()

    assert not hdf5.exists() and not png.exists() and not source.exists()
    assert not (tmp_path / "results" / str(item.id)).exists()
    assert session.exec(select(Result.item_id)).all() == [keeper.id]
    assert session.exec(select(Job.item_id)).all() == [keeper.id]
    assert session.exec(select(SelectionItem.item_id)).all() == [keeper.id]
    assert session.exec(select(Task.id)).all() == [on_selection.id]
    assert count(session, AnnotationTrack) == count(session, Annotation) == 0
    assert count(session, ItemTag) == 1 and count(session, Tag) == 1  # "voice" went with it
    assert session.exec(select(Tag.name)).all() == ["shared"]
    assert on_item.id not in session.exec(select(Task.id)).all()


def test_rolled_back_delete_keeps_files(session: Session, tmp_path: Path) -> None:
    item = factories.item(session)
    pre = factories.preset(session, factories.processor(session))
    hdf5 = touch(tmp_path, f"results/{item.id}/r.h5")
    factories.result(session, item, pre, hdf5_path=f"results/{item.id}/r.h5")
    session.commit()

    delete(session, item, data_dir=tmp_path)
    session.rollback()
    session.commit()

    assert hdf5.exists()
    assert count(session, Result) == 1


def test_a_source_file_shared_or_outside_the_data_dir_is_kept(
    session: Session, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    shared = touch(data_dir, "media/shared.wav")
    outside = touch(tmp_path, "elsewhere.wav")
    first = factories.item(session, source_file="media/shared.wav")
    factories.item(session, source_file="media/shared.wav")
    escaping = factories.item(session, source_file="../elsewhere.wav")
    session.commit()

    delete(session, first, data_dir=data_dir)
    delete(session, escaping, data_dir=data_dir)
    session.commit()

    assert shared.exists() and outside.exists()


def test_definitions_in_use_are_refused(session: Session, tmp_path: Path) -> None:
    proc = factories.processor(session)
    pre = factories.preset(session, proc)
    exp = factories.experience(session)
    set_presets(session, exp, [pre.id])
    selection = factories.selection(session)
    factories.task(session, exp, selection_id=selection.id)

    for obj, reason in [
        (proc, "presets use this processor"),
        (pre, "experiences or analyses use this preset"),
        (exp, "tasks ran this experience"),
        (selection, "tasks ran this selection"),
    ]:
        with pytest.raises(DeleteRefusedError, match=reason) as refused:
            delete(session, obj, data_dir=tmp_path)
        assert refused.value.object_id == obj.id

    session.commit()  # the refusals rolled back their savepoints only
    assert count(session, Task) == 1 and count(session, Preset) == 1


def test_unused_definitions_go_with_their_links(session: Session, tmp_path: Path) -> None:
    item = factories.item(session)
    proc = factories.processor(session)
    pre = factories.preset(session, proc)
    png = touch(tmp_path, f"results/{item.id}/waveform.png")
    factories.result(session, item, pre, file_path=f"results/{item.id}/waveform.png")
    exp = factories.experience(session)
    set_presets(session, exp, [pre.id])
    parent, child = factories.selection(session, items=[item]), factories.selection(session)
    set_children(session, parent, [child.id])

    delete(session, exp, data_dir=tmp_path)
    delete(session, pre, data_dir=tmp_path)  # its results are derived data: they go too
    delete(session, proc, data_dir=tmp_path)
    delete(session, child, data_dir=tmp_path)
    delete(session, parent, data_dir=tmp_path)
    session.commit()

    assert count(session, Result) == count(session, SelectionChild) == 0
    assert count(session, SelectionItem) == 0
    assert not png.exists()
    assert count(session, Item) == 1, "a selection never owns its items"


def test_deleting_a_user_keeps_their_objects_ownerless(session: Session, tmp_path: Path) -> None:
    ada = factories.user(session)
    item = factories.item(session, author_id=ada.id, is_public=False)
    issue_token(session, ada, name="laptop")

    delete(session, ada, data_dir=tmp_path)
    session.commit()

    session.refresh(item)
    assert item.author_id is None
    assert count(session, ApiToken) == 0


def test_deleting_a_provider_unlinks_its_items(session: Session, tmp_path: Path) -> None:
    provider = factories.add(session, Provider(pid="deezer_preview"))
    item = factories.item(session, provider_id=provider.id)

    delete(session, provider, data_dir=tmp_path)
    session.commit()

    session.refresh(item)
    assert item.provider_id is None


def test_deleting_a_task_takes_its_jobs(session: Session, tmp_path: Path) -> None:
    item = factories.item(session)
    task = factories.task(session, factories.experience(session), item_id=item.id)
    factories.add(session, Job(task_id=task.id, item_id=item.id))

    delete(session, task, data_dir=tmp_path)
    session.commit()

    assert count(session, Job) == 0
    assert session.exec(select(sa.func.count()).select_from(Item)).one() == 1


def test_deleting_a_result_removes_its_files(session: Session, tmp_path: Path) -> None:
    item = factories.item(session)
    hdf5, png = touch(tmp_path, "results/r.h5"), touch(tmp_path, "results/r.png")
    result = factories.result(
        session,
        item,
        factories.preset(session, factories.processor(session)),
        hdf5_path="results/r.h5",
        file_path="results/r.png",
    )

    delete(session, result, data_dir=tmp_path)
    session.commit()

    assert not hdf5.exists() and not png.exists()
    assert count(session, Item) == 1


def test_a_source_path_naming_a_directory_never_removes_it(
    session: Session, tmp_path: Path
) -> None:
    kept = touch(tmp_path, "media/other.wav")
    item = factories.item(session, source_file="media")
    session.commit()

    delete(session, item, data_dir=tmp_path)
    session.commit()

    assert kept.exists()
