"""A delivery world: real audio items (synthesized with soundfile) owned by alice, private and
public, with real results computed by the core pipeline through media.derived (the same rows
and files as jobs)."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import soundfile as sf
from sqlalchemy.engine import Engine
from sqlmodel import Session

from timeside_gql.db.models import Item, Result
from timeside_gql.db.presets import default_preset
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.signing import signed_url
from timeside_gql.services.transcodes import ensure_result
from timeside_gql.settings import Settings
from timeside_gql.storage import intake

SAMPLERATE = 44100
SECONDS = 3.0


def sine_wav(path: Path, *, fade_in: bool = False, freq: float = 440.0) -> Path:
    """A stereo sine at amplitude 0.5 (left at ``freq``, right an octave up), 16-bit WAV;
    ``fade_in`` ramps it up from silence over the whole length."""
    t = np.arange(round(SECONDS * SAMPLERATE)) / SAMPLERATE
    gain = 0.5 * (t / SECONDS if fade_in else np.ones_like(t))
    stereo = gain[:, None] * np.stack(
        [np.sin(2 * np.pi * freq * t), np.sin(4 * np.pi * freq * t)], axis=1
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, stereo, SAMPLERATE, subtype="PCM_16")
    return path


def add_item(
    engine: Engine,
    settings: Settings,
    owner: uuid.UUID,
    *,
    public: bool,
    title: str = "A sine",
    fade_in: bool = False,
) -> Item:
    """An item whose source is a fresh WAV, stored and probed by the intake as an upload is."""
    with tempfile.TemporaryDirectory() as folder:
        stored = intake.store_file(settings, sine_wav(Path(folder) / "sine.wav", fade_in=fade_in))
    with Session(engine, expire_on_commit=False) as session:
        item = Item(title=title, author_id=owner, is_public=public)
        intake.apply_source(session, item, stored, data_dir=settings.data_dir)
        session.commit()
    return item


def compute(engine: Engine, settings: Settings, item: Item, pid: str) -> Result:
    """The done result of ``pid`` (default parameters) on ``item``, computed for real."""
    with Session(engine, expire_on_commit=False) as session:
        preset_id = default_preset(session, pid).id
        session.commit()
    return ensure_result(engine, settings, item, preset_id)


@dataclass(frozen=True)
class World:
    private: Item
    public: Item


def signed(settings: Settings, path: str, user_id: uuid.UUID | None, **params: object) -> str:
    """A signed URL for ``path`` as the given user (None: anonymous)."""
    return signed_url(settings, path, Viewer(user_id=user_id), params)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
