"""A task processes what its author may see of its selection, as ``selection.allItems`` shows."""

from __future__ import annotations

from sqlmodel import Session

from tests.db import factories
from timeside_gql.db.models import SelectionChild
from timeside_gql.jobs import lifecycle


def test_the_fan_out_skips_what_the_author_cannot_see(session: Session) -> None:
    alice = factories.user(session, "alice")
    bob = factories.user(session, "bob")
    admin = factories.user(session, "root", is_admin=True)
    mine = factories.item(session, "mine", author_id=alice.id, is_public=False)
    shared = factories.item(session, "shared", author_id=bob.id)
    hidden = factories.item(session, "bob's private", author_id=bob.id, is_public=False)
    behind = factories.item(session, "public, in bob's private selection", author_id=bob.id)
    corpus = factories.selection(session, "corpus", items=[mine, shared, hidden])
    corpus.author_id = alice.id
    private = factories.selection(session, "bob's", items=[behind])
    private.author_id, private.is_public = bob.id, False
    factories.add(session, SelectionChild(parent_id=corpus.id, child_id=private.id))
    exp = factories.experience(session)

    by_alice = factories.task(session, exp, selection_id=corpus.id, author_id=alice.id)
    by_admin = factories.task(session, exp, selection_id=corpus.id, author_id=admin.id)
    ownerless = factories.task(session, exp, selection_id=corpus.id)

    assert set(lifecycle.target_item_ids(session, by_alice)) == {mine.id, shared.id}
    assert set(lifecycle.target_item_ids(session, by_admin)) == {
        mine.id,
        shared.id,
        hidden.id,
        behind.id,
    }
    assert lifecycle.target_item_ids(session, ownerless) == [shared.id]
