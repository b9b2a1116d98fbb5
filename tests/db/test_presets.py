"""Preset rows hold the core's one canonical form and hash of their parameters."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.db import factories as f
from timeside_gql.core.params import ParameterError, validate_parameters
from timeside_gql.core.registry import get_processor
from timeside_gql.db.presets import preset_for


def test_a_preset_row_holds_the_canonical_parameters_and_their_hash(session: Session) -> None:
    installed = f.processor(session, "onsets", str(get_processor("onsets").version))
    row = preset_for(session, installed, {"n_fft": 1024})
    valid = validate_parameters("onsets", {"n_fft": 1024})
    assert row.parameters == valid.to_dict() and row.parameters_hash == valid.hash
    spelled = preset_for(session, installed, {"n_fft": 1024, "min_flux": 0.1})
    assert spelled.id == row.id


def test_presets_are_validated_against_the_installed_processor(session: Session) -> None:
    """A row of an older version of an installed processor gets the code's defaults (what jobs
    run); a processor this installation lacks takes no preset."""
    older = f.processor(session, "onsets", "0.9")
    assert preset_for(session, older, {}).parameters["min_flux"] == 0.1
    with pytest.raises(ParameterError, match="min_flux"):
        preset_for(session, older, {"min_flux": -1})
    gone = f.processor(session, "gone_analyzer", "1.0")
    with pytest.raises(ParameterError, match=r"gone_analyzer.*not installed"):
        preset_for(session, gone, {})
