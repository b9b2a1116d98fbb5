"""Catalogue writes: providers, tags, processors and presets are shared, so administrators
change them (anyone may create a tag or a preset)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.core.registry import all_processors
from timeside_gql.db import models as m

PROVIDER = """
mutation($input: ProviderInput!) {
  createProvider(input: $input) {
    __typename ... on Provider { id pid domains sourceAccess } ... on ValidationError { field }
  }
}"""


def test_providers_are_administered(api: Api) -> None:
    youtube = {"pid": "youtube", "domains": ["www.youtube.com"], "sourceAccess": True}
    assert api(PROVIDER, {"input": youtube}, as_="alice")["createProvider"] == {
        "__typename": "PermissionDenied"
    }
    created = api(PROVIDER, {"input": youtube}, as_="admin")["createProvider"]
    assert created["domains"] == ["www.youtube.com"]
    assert api(PROVIDER, {"input": youtube}, as_="admin")["createProvider"] == {
        "__typename": "ConflictError"
    }
    assert api(PROVIDER, {"input": {"name": "no pid"}}, as_="admin")["createProvider"] == {
        "__typename": "ValidationError",
        "field": "pid",
    }
    updated = api(
        """mutation($id: UUID!) { updateProvider(id: $id, input: {sourceAccess: false}) {
          ... on Provider { pid sourceAccess } } }""",
        {"id": created["id"]},
        as_="admin",
    )
    assert updated["updateProvider"] == {"pid": "youtube", "sourceAccess": False}
    deleted = api(
        "mutation($id: UUID!) { deleteProvider(id: $id) { __typename } }",
        {"id": created["id"]},
        as_="admin",
    )
    assert deleted["deleteProvider"] == {"__typename": "Deleted"}


def test_tags(api: Api) -> None:
    create = 'mutation { createTag(name: " drums ") { ... on Tag { id name } } }'
    tag = api(create, as_="alice")["createTag"]
    assert tag["name"] == "drums"
    assert api(create, as_="bob")["createTag"] == tag  # the same tag, not a second one
    rename = """mutation($id: UUID!) { renameTag(id: $id, name: "percussion") {
      __typename ... on Tag { name } } }"""
    assert api(rename, {"id": tag["id"]}, as_="alice")["renameTag"] == {
        "__typename": "PermissionDenied"
    }
    assert api(rename, {"id": tag["id"]}, as_="admin")["renameTag"] == {
        "__typename": "Tag",
        "name": "percussion",
    }


def test_processors_and_presets_in_use_are_not_deleted(api: Api, engine: Engine) -> None:
    with Session(engine) as session:
        processor = f.processor(session)
        preset = f.preset(session, processor)
        experience = f.experience(session)
        f.add(
            session,
            m.ExperiencePreset(experience_id=experience.id, preset_id=preset.id, position=0),
        )
        session.commit()
        ids = {"processor": str(processor.id), "preset": str(preset.id)}
    for field in ("deleteProcessor", "deletePreset"):
        id = ids[field.removeprefix("delete").lower()]
        query = f"mutation($id: UUID!) {{ {field}(id: $id) {{ __typename }} }}"
        assert api(query, {"id": id}, as_="alice")[field] == {"__typename": "PermissionDenied"}
        assert api(query, {"id": id}, as_="admin")[field] == {"__typename": "ConflictError"}
    listed = api('{ processors(pid: "level", kind: ANALYZER) { nodes { presets { id } } } }')
    assert listed["processors"]["nodes"] == [{"presets": [{"id": ids["preset"]}]}]


def test_processors_are_synced_from_the_registry_by_admins(api: Api) -> None:
    sync = """mutation { syncProcessors { __typename
      ... on SyncedProcessors { processors { pid version parametersSchema } } } }"""
    assert api(sync, as_="alice")["syncProcessors"] == {"__typename": "PermissionDenied"}
    synced = api(sync, as_="admin")["syncProcessors"]["processors"]
    pids = {processor["pid"] for processor in synced}
    assert pids == {cls.pid for cls in all_processors()}
    assert all(processor["parametersSchema"]["type"] == "object" for processor in synced)
    listed = api("{ processors(first: 100) { totalCount } }")["processors"]["totalCount"]
    assert listed == len(synced)
