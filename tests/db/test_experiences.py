"""An experience keeps its presets in the order given, each once."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.db import factories
from timeside_gql.db.errors import DuplicatePresetError
from timeside_gql.db.experiences import set_presets


def test_presets_keep_their_order_and_can_be_replaced(session: Session) -> None:
    proc = factories.processor(session)
    a, b, c = (factories.preset(session, proc, n=n) for n in range(3))
    exp = factories.experience(session)

    set_presets(session, exp, [c.id, a.id, b.id])
    assert [p.id for p in exp.presets] == [c.id, a.id, b.id]

    set_presets(session, exp, [b.id, c.id])  # reorder and drop one in a single call
    assert [p.id for p in exp.presets] == [b.id, c.id]


def test_a_preset_listed_twice_is_refused(session: Session) -> None:
    proc = factories.processor(session)
    a, b = factories.preset(session, proc, n=1), factories.preset(session, proc, n=2)
    exp = factories.experience(session)
    set_presets(session, exp, [a.id])

    with pytest.raises(DuplicatePresetError) as refused:
        set_presets(session, exp, [b.id, a.id, b.id])

    assert refused.value.preset_id == b.id
    assert [p.id for p in exp.presets] == [a.id]
