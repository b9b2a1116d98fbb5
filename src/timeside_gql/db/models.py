"""The data graph: users and tokens, items and selections, processors, presets and experiences,
tasks, jobs and results, annotations and tags, the analysis catalogue, webhooks.

Delete rules live in the foreign keys (``ondelete``), so they hold for raw SQL too; see
docs/data-model.md. Derived data (results, jobs, annotation and analysis tracks) cascades with
its item; definitions other rows depend on (a processor with presets, a preset in an experience
or an analysis, an analysis shown by a track, an experience or selection that tasks ran) are
refused with RESTRICT.

No ``from __future__ import annotations`` here: SQLModel resolves relationship types at runtime.
"""

import enum
import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal, Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from timeside_gql.db.types import JSONType, UTCDateTime, enum_type, utcnow

# Deterministic constraint names: migrations can drop/alter them by name on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ProcessorKind(enum.StrEnum):
    ANALYZER = "analyzer"
    GRAPHER = "grapher"
    ENCODER = "encoder"


class TaskStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class IngestStatus(enum.StrEnum):
    NONE = "none"  # no source yet
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ResultStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class WebhookEvent(enum.StrEnum):
    """What a webhook can be told: the end of a task, of an item's ingest, of a result."""

    TASK_DONE = "task.done"
    TASK_FAILED = "task.failed"
    ITEM_INGESTED = "item.ingested"
    ITEM_FAILED = "item.failed"
    RESULT_DONE = "result.done"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first attempt or a retry
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed, or the webhook is gone or disabled


class RenderType(enum.StrEnum):
    """How a player draws an analysis: a curve/markers from data, or a picture."""

    VECTOR = "vector"
    IMAGE = "image"


# ---------------------------------------------------------------------------------------------
# Column helpers and mixins


OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT"]


def _fk(target: str, ondelete: OnDelete, *, nullable: bool = False, index: bool = True) -> Any:
    """A foreign key column with its index (neither database indexes FKs by itself); pass
    ``index=False`` when a unique constraint starting with the column already is one."""
    if nullable:
        return Field(default=None, foreign_key=target, ondelete=ondelete, index=index)
    return Field(foreign_key=target, ondelete=ondelete, index=index)


def _title() -> Any:
    return Field(default="", max_length=512)


def _text() -> Any:
    return Field(default="", sa_type=sa.Text, nullable=False)


def _when() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


class Entity(SQLModel):
    """UUID primary key (portable between instances) and UTC timestamps."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Shareable(Entity):
    """Owned by its author (kept when the author is deleted, as ownerless), public by default."""

    author_id: uuid.UUID | None = _fk("users.id", "SET NULL", nullable=True)
    is_public: bool = Field(default=True, index=True)


# ---------------------------------------------------------------------------------------------
# Users and tokens


class User(Entity, table=True):
    __tablename__: ClassVar[str] = "users"

    username: str = Field(max_length=150, unique=True)
    password_hash: str = Field(max_length=256)
    is_admin: bool = Field(default=False)


class ApiToken(Entity, table=True):
    """Only the sha256 of the secret is stored; the secret is shown once, when issued."""

    __tablename__: ClassVar[str] = "api_tokens"

    user_id: uuid.UUID = _fk("users.id", "CASCADE")
    name: str = Field(default="", max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    last_used_at: datetime | None = _when()
    expires_at: datetime | None = _when()
    revoked_at: datetime | None = _when()

    user: "User" = Relationship()


# ---------------------------------------------------------------------------------------------
# Items, providers, selections, tags


class Provider(Entity, table=True):
    __tablename__: ClassVar[str] = "providers"

    pid: str = Field(max_length=128, unique=True)
    name: str = Field(default="", max_length=256)
    domains: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    source_access: bool = Field(default=False)


class ItemTag(SQLModel, table=True):
    __tablename__: ClassVar[str] = "item_tags"

    item_id: uuid.UUID = Field(foreign_key="items.id", ondelete="CASCADE", primary_key=True)
    tag_id: uuid.UUID = Field(
        foreign_key="tags.id", ondelete="CASCADE", primary_key=True, index=True
    )


class AnnotationResult(SQLModel, table=True):
    """Which results an annotation was made from (a result may back many annotations)."""

    __tablename__: ClassVar[str] = "annotation_results"

    annotation_id: uuid.UUID = Field(
        foreign_key="annotations.id", ondelete="CASCADE", primary_key=True
    )
    result_id: uuid.UUID = Field(
        foreign_key="results.id", ondelete="CASCADE", primary_key=True, index=True
    )


class AnnotationTag(SQLModel, table=True):
    __tablename__: ClassVar[str] = "annotation_tags"

    annotation_id: uuid.UUID = Field(
        foreign_key="annotations.id", ondelete="CASCADE", primary_key=True
    )
    tag_id: uuid.UUID = Field(
        foreign_key="tags.id", ondelete="CASCADE", primary_key=True, index=True
    )


class Tag(Entity, table=True):
    __tablename__: ClassVar[str] = "tags"

    name: str = Field(max_length=128, unique=True)


class Item(Shareable, table=True):
    __tablename__: ClassVar[str] = "items"

    title: str = _title()
    description: str = _text()
    artist: str = Field(default="", max_length=256)
    album: str = Field(default="", max_length=256)
    source_file: str | None = Field(default=None, max_length=1024)  # relative to the data dir
    source_url: str | None = Field(default=None, max_length=1024)
    provider_id: uuid.UUID | None = _fk("providers.id", "SET NULL", nullable=True)
    external_id: str | None = Field(default=None, max_length=256, index=True)
    external_uri: str | None = Field(default=None, max_length=1024)
    picture_url: str | None = Field(default=None, max_length=1024)
    sha1: str | None = Field(default=None, max_length=40, index=True)
    mime_type: str | None = Field(default=None, max_length=128)
    audio_duration: float | None = None
    samplerate: int | None = None
    channels: int | None = None
    ingest_status: IngestStatus = Field(
        default=IngestStatus.NONE,
        sa_type=enum_type(IngestStatus, "ingest_status"),
        index=True,
        sa_column_kwargs={"server_default": IngestStatus.NONE.value},
    )
    ingest_error: str | None = Field(default=None, sa_type=sa.Text)
    #: Refreshed by the process running the ingest; a running ingest gone silent is released.
    ingest_heartbeat_at: datetime | None = _when()

    provider: Optional["Provider"] = Relationship()
    tags: list["Tag"] = Relationship(link_model=ItemTag, passive_deletes=True)


class SelectionItem(SQLModel, table=True):
    __tablename__: ClassVar[str] = "selection_items"

    selection_id: uuid.UUID = Field(
        foreign_key="selections.id", ondelete="CASCADE", primary_key=True
    )
    item_id: uuid.UUID = Field(
        foreign_key="items.id", ondelete="CASCADE", primary_key=True, index=True
    )


class SelectionChild(SQLModel, table=True):
    """Edge parent → child of the selection graph; kept acyclic by db.selections."""

    __tablename__: ClassVar[str] = "selection_children"
    __table_args__ = (sa.CheckConstraint("parent_id <> child_id", name="not_self"),)

    parent_id: uuid.UUID = Field(foreign_key="selections.id", ondelete="CASCADE", primary_key=True)
    child_id: uuid.UUID = Field(
        foreign_key="selections.id", ondelete="CASCADE", primary_key=True, index=True
    )


class Selection(Shareable, table=True):
    __tablename__: ClassVar[str] = "selections"

    title: str = _title()
    description: str = _text()

    items: list["Item"] = Relationship(link_model=SelectionItem, passive_deletes=True)
    # Read-only: children change through db.selections.set_children, which refuses cycles.
    children: list["Selection"] = Relationship(
        link_model=SelectionChild,
        sa_relationship_kwargs={
            "primaryjoin": "Selection.id == SelectionChild.parent_id",
            "secondaryjoin": "Selection.id == SelectionChild.child_id",
            "viewonly": True,
        },
    )


# ---------------------------------------------------------------------------------------------
# Processors, presets, experiences


class Processor(Entity, table=True):
    """One row per (pid, version) the registry ever offered: old results keep their version."""

    __tablename__: ClassVar[str] = "processors"
    __table_args__ = (sa.UniqueConstraint("pid", "version"),)

    pid: str = Field(max_length=128)
    version: str = Field(max_length=64)
    name: str = Field(default="", max_length=256)
    kind: ProcessorKind = Field(sa_type=enum_type(ProcessorKind, "processor_kind"), index=True)
    description: str = _text()
    parameters_schema: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSONType, nullable=False
    )
    outputs: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType, nullable=False)


class Preset(Entity, table=True):
    """A processor with canonical parameters; the same settings are stored once (hash unique)."""

    __tablename__: ClassVar[str] = "presets"
    __table_args__ = (sa.UniqueConstraint("processor_id", "parameters_hash"),)

    processor_id: uuid.UUID = _fk("processors.id", "RESTRICT", index=False)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    parameters_hash: str = Field(max_length=40)
    author_id: uuid.UUID | None = _fk("users.id", "SET NULL", nullable=True)

    processor: "Processor" = Relationship()


class ExperiencePreset(SQLModel, table=True):
    __tablename__: ClassVar[str] = "experience_presets"
    __table_args__ = (
        sa.UniqueConstraint("experience_id", "position"),
        sa.CheckConstraint("position >= 0", name="position_positive"),
    )

    experience_id: uuid.UUID = Field(
        foreign_key="experiences.id", ondelete="CASCADE", primary_key=True
    )
    preset_id: uuid.UUID = Field(
        foreign_key="presets.id", ondelete="RESTRICT", primary_key=True, index=True
    )
    position: int


class Experience(Shareable, table=True):
    __tablename__: ClassVar[str] = "experiences"

    title: str = _title()
    description: str = _text()

    # Read-only, in order: change through db.experiences.set_presets.
    presets: list["Preset"] = Relationship(
        link_model=ExperiencePreset,
        sa_relationship_kwargs={"order_by": "ExperiencePreset.position", "viewonly": True},
    )


# ---------------------------------------------------------------------------------------------
# Execution


class Task(Shareable, table=True):
    """An experience run on a selection and/or an item; runs only when asked (no save hooks)."""

    __tablename__: ClassVar[str] = "tasks"
    __table_args__ = (
        sa.CheckConstraint("selection_id IS NOT NULL OR item_id IS NOT NULL", name="has_target"),
        sa.CheckConstraint(
            "items_total >= 0 AND items_done >= 0 AND items_failed >= 0", name="counts_positive"
        ),
    )

    experience_id: uuid.UUID = _fk("experiences.id", "RESTRICT")
    selection_id: uuid.UUID | None = _fk("selections.id", "RESTRICT", nullable=True)
    item_id: uuid.UUID | None = _fk("items.id", "CASCADE", nullable=True)
    status: TaskStatus = Field(
        default=TaskStatus.DRAFT, sa_type=enum_type(TaskStatus, "task_status"), index=True
    )
    items_total: int = 0
    items_done: int = 0
    items_failed: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    started_at: datetime | None = _when()
    finished_at: datetime | None = _when()

    experience: "Experience" = Relationship()
    selection: Optional["Selection"] = Relationship()
    item: Optional["Item"] = Relationship()


class Job(Entity, table=True):
    """One (task, item) pair: the durable state workers update and subscriptions read."""

    __tablename__: ClassVar[str] = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "item_id"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
    )

    task_id: uuid.UUID = _fk("tasks.id", "CASCADE", index=False)
    item_id: uuid.UUID = _fk("items.id", "CASCADE")
    status: JobStatus = Field(
        default=JobStatus.PENDING, sa_type=enum_type(JobStatus, "job_status"), index=True
    )
    progress: float = 0.0
    error: str | None = Field(default=None, sa_type=sa.Text)
    attempts: int = 0
    started_at: datetime | None = _when()
    finished_at: datetime | None = _when()
    #: Refreshed by the process running the job; a running job gone silent is claimable.
    heartbeat_at: datetime | None = _when()

    task: "Task" = Relationship()
    item: "Item" = Relationship()


class Result(Entity, table=True):
    """The output of one preset on one item; paths are relative to the data dir."""

    __tablename__: ClassVar[str] = "results"
    __table_args__ = (sa.UniqueConstraint("item_id", "preset_id"),)

    item_id: uuid.UUID = _fk("items.id", "CASCADE", index=False)
    preset_id: uuid.UUID = _fk("presets.id", "CASCADE")
    status: ResultStatus = Field(
        default=ResultStatus.PENDING, sa_type=enum_type(ResultStatus, "result_status"), index=True
    )
    hdf5_path: str | None = Field(default=None, max_length=1024)
    file_path: str | None = Field(default=None, max_length=1024)
    mime_type: str | None = Field(default=None, max_length=128)
    run_time: float | None = None  # seconds
    processor_version: str | None = Field(default=None, max_length=64)
    cache_key: str | None = Field(default=None, max_length=128, index=True)
    error: str | None = Field(default=None, sa_type=sa.Text)

    item: "Item" = Relationship()
    preset: "Preset" = Relationship()


class ItemDescriptor(SQLModel, table=True):
    """An item's similarity descriptor (``core.similarity``), kept beside the result it was
    read from so that similarity search needs no file: one row per item, the newest."""

    __tablename__: ClassVar[str] = "item_descriptors"

    item_id: uuid.UUID = Field(foreign_key="items.id", ondelete="CASCADE", primary_key=True)
    result_id: uuid.UUID = _fk("results.id", "CASCADE")
    version: str = Field(max_length=64)
    vector: list[float] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    tempo: float  # BPM, read from the vector
    key: int  # index into core.analyzers.tonal.KEYS, read from the vector
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


# ---------------------------------------------------------------------------------------------
# Annotations


class AnnotationTrack(Shareable, table=True):
    __tablename__: ClassVar[str] = "annotation_tracks"

    item_id: uuid.UUID = _fk("items.id", "CASCADE")
    title: str = _title()
    description: str = _text()
    overlapping: bool = False

    item: "Item" = Relationship()


class Annotation(Entity, table=True):
    __tablename__: ClassVar[str] = "annotations"
    __table_args__ = (
        sa.CheckConstraint("start >= 0", name="start_positive"),
        sa.CheckConstraint("stop >= start", name="stop_after_start"),
    )

    track_id: uuid.UUID = _fk("annotation_tracks.id", "CASCADE")
    start: float = 0.0
    stop: float
    title: str = _title()
    description: str = _text()

    track: "AnnotationTrack" = Relationship()
    tags: list["Tag"] = Relationship(link_model=AnnotationTag, passive_deletes=True)


# ---------------------------------------------------------------------------------------------
# Analysis catalogue for players


class Analysis(Shareable, table=True):
    """One output of a preset as a player shows it (TimeSide's Analysis + SubProcessor)."""

    __tablename__: ClassVar[str] = "analyses"

    title: str = _title()
    description: str = _text()
    preset_id: uuid.UUID = _fk("presets.id", "RESTRICT")
    output_id: str | None = Field(default=None, max_length=128)  # None: the grapher's picture
    render_type: RenderType = Field(
        default=RenderType.VECTOR, sa_type=enum_type(RenderType, "render_type")
    )

    preset: "Preset" = Relationship()


class AnalysisTrack(Shareable, table=True):
    """An analysis shown on one item; its data is the Result of (item, analysis.preset)."""

    __tablename__: ClassVar[str] = "analysis_tracks"

    analysis_id: uuid.UUID = _fk("analyses.id", "RESTRICT")
    item_id: uuid.UUID = _fk("items.id", "CASCADE")
    title: str = _title()
    color: str = Field(default="", max_length=7)  # "#rrggbb", or "" for the player's choice

    analysis: "Analysis" = Relationship()
    item: "Item" = Relationship()


# ---------------------------------------------------------------------------------------------
# Messages to the broker


class OutboxMessage(SQLModel, table=True):
    """A message to send to the broker, written in the transaction of the row that needs it.

    A dispatcher sends unsent rows and stamps ``sent_at``; ``broker_ref`` lets the reconciler
    ask the broker whether a sent message still exists.
    """

    __tablename__: ClassVar[str] = "outbox"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=64)
    args: list[Any] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    #: The object the message is about (a task, job or item id), for the reconciler.
    subject_id: uuid.UUID = Field(index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True, index=True)
    #: The broker's own key of the sent message (Redis: its field in the queue's hash).
    broker_ref: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)


# ---------------------------------------------------------------------------------------------
# Webhooks


class Webhook(Entity, table=True):
    """An endpoint of a user, told by signed POSTs when their tasks, items and results end.

    The secret signs the deliveries, so it is stored as given (unlike token hashes).
    """

    __tablename__: ClassVar[str] = "webhooks"

    user_id: uuid.UUID = _fk("users.id", "CASCADE")
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)  # values
    secret: str = Field(max_length=256)
    is_active: bool = Field(default=True)


class WebhookDelivery(Entity, table=True):
    """One event sent (or to be sent) to one webhook, with the outcome of its last attempt."""

    __tablename__: ClassVar[str] = "webhook_deliveries"
    __table_args__ = (
        # A state change published twice (a redelivered message) is delivered once.
        sa.UniqueConstraint("webhook_id", "event_key"),
        sa.CheckConstraint("attempts >= 0", name="attempts_positive"),
    )

    webhook_id: uuid.UUID = _fk("webhooks.id", "CASCADE", index=False)
    event: str = Field(max_length=64)
    event_key: str | None = Field(default=None, max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING,
        sa_type=enum_type(DeliveryStatus, "delivery_status"),
        index=True,
    )
    attempts: int = 0
    response_status: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = _when()
    delivered_at: datetime | None = _when()
