"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:19:07.584107
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pid", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "analyzer",
                "grapher",
                "encoder",
                name="processor_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "parameters_schema",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "outputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processors")),
        sa.UniqueConstraint("pid", "version", name=op.f("uq_processors_pid_version")),
    )
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processors_kind"), ["kind"], unique=False)

    op.create_table(
        "providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pid", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column(
            "domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_access", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("pid", name=op.f("uq_providers_pid")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "experiences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_experiences_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiences")),
    )
    with op.batch_alter_table("experiences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experiences_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_experiences_is_public"), ["is_public"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("artist", sa.String(length=256), nullable=False),
        sa.Column("album", sa.String(length=256), nullable=False),
        sa.Column("source_file", sa.String(length=1024), nullable=True),
        sa.Column("source_url", sa.String(length=1024), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("external_uri", sa.String(length=1024), nullable=True),
        sa.Column("picture_url", sa.String(length=1024), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("audio_duration", sa.Float(), nullable=True),
        sa.Column("samplerate", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_items_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_items_provider_id_providers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_is_public"), ["is_public"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_sha1"), ["sha1"], unique=False)

    op.create_table(
        "presets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processor_id", sa.Uuid(), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("parameters_hash", sa.String(length=40), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_presets_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["processor_id"],
            ["processors.id"],
            name=op.f("fk_presets_processor_id_processors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presets")),
        sa.UniqueConstraint(
            "processor_id", "parameters_hash", name=op.f("uq_presets_processor_id_parameters_hash")
        ),
    )
    with op.batch_alter_table("presets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_presets_author_id"), ["author_id"], unique=False)

    op.create_table(
        "selections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_selections_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selections")),
    )
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selections_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_selections_is_public"), ["is_public"], unique=False)

    op.create_table(
        "annotation_tracks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("overlapping", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_annotation_tracks_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_annotation_tracks_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_tracks")),
    )
    with op.batch_alter_table("annotation_tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotation_tracks_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_annotation_tracks_is_public"), ["is_public"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_annotation_tracks_item_id"), ["item_id"], unique=False)

    op.create_table(
        "experience_presets",
        sa.Column("experience_id", sa.Uuid(), nullable=False),
        sa.Column("preset_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_experience_presets_position_positive")),
        sa.ForeignKeyConstraint(
            ["experience_id"],
            ["experiences.id"],
            name=op.f("fk_experience_presets_experience_id_experiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["preset_id"],
            ["presets.id"],
            name=op.f("fk_experience_presets_preset_id_presets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("experience_id", "preset_id", name=op.f("pk_experience_presets")),
        sa.UniqueConstraint(
            "experience_id", "position", name=op.f("uq_experience_presets_experience_id_position")
        ),
    )
    with op.batch_alter_table("experience_presets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experience_presets_preset_id"), ["preset_id"], unique=False
        )

    op.create_table(
        "item_tags",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_tags_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_item_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "tag_id", name=op.f("pk_item_tags")),
    )
    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("preset_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                name="result_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("hdf5_path", sa.String(length=1024), nullable=True),
        sa.Column("file_path", sa.String(length=1024), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("run_time", sa.Float(), nullable=True),
        sa.Column("processor_version", sa.String(length=64), nullable=True),
        sa.Column("cache_key", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_results_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["preset_id"],
            ["presets.id"],
            name=op.f("fk_results_preset_id_presets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results")),
        sa.UniqueConstraint("item_id", "preset_id", name=op.f("uq_results_item_id_preset_id")),
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_results_cache_key"), ["cache_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_results_preset_id"), ["preset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_results_status"), ["status"], unique=False)

    op.create_table(
        "selection_children",
        sa.Column("parent_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("parent_id <> child_id", name=op.f("ck_selection_children_not_self")),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["selections.id"],
            name=op.f("fk_selection_children_child_id_selections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["selections.id"],
            name=op.f("fk_selection_children_parent_id_selections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parent_id", "child_id", name=op.f("pk_selection_children")),
    )
    with op.batch_alter_table("selection_children", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_selection_children_child_id"), ["child_id"], unique=False
        )

    op.create_table(
        "selection_items",
        sa.Column("selection_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_selection_items_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["selections.id"],
            name=op.f("fk_selection_items_selection_id_selections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("selection_id", "item_id", name=op.f("pk_selection_items")),
    )
    with op.batch_alter_table("selection_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selection_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("experience_id", sa.Uuid(), nullable=False),
        sa.Column("selection_id", sa.Uuid(), nullable=True),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "pending",
                "running",
                "done",
                "failed",
                "cancelled",
                name="task_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("items_done", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "items_total >= 0 AND items_done >= 0 AND items_failed >= 0",
            name=op.f("ck_tasks_counts_positive"),
        ),
        sa.CheckConstraint(
            "selection_id IS NOT NULL OR item_id IS NOT NULL", name=op.f("ck_tasks_has_target")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_tasks_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["experience_id"],
            ["experiences.id"],
            name=op.f("fk_tasks_experience_id_experiences"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_tasks_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["selections.id"],
            name=op.f("fk_tasks_selection_id_selections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_experience_id"), ["experience_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_is_public"), ["is_public"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_selection_id"), ["selection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_status"), ["status"], unique=False)

    op.create_table(
        "annotations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("track_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("stop", sa.Float(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint("start >= 0", name=op.f("ck_annotations_start_positive")),
        sa.CheckConstraint("stop >= start", name=op.f("ck_annotations_stop_after_start")),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["annotation_tracks.id"],
            name=op.f("fk_annotations_track_id_annotation_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotations_track_id"), ["track_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                "cancelled",
                name="job_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1", name=op.f("ck_jobs_progress_fraction")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_jobs_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_jobs_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("task_id", "item_id", name=op.f("uq_jobs_task_id_item_id")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)

    op.create_table(
        "annotation_tags",
        sa.Column("annotation_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_annotation_tags_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_annotation_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("annotation_id", "tag_id", name=op.f("pk_annotation_tags")),
    )
    with op.batch_alter_table("annotation_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotation_tags_tag_id"), ["tag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("annotation_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_tags_tag_id"))

    op.drop_table("annotation_tags")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_jobs_item_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotations_track_id"))

    op.drop_table("annotations")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_tasks_selection_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_item_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_is_public"))
        batch_op.drop_index(batch_op.f("ix_tasks_experience_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_author_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("selection_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selection_items_item_id"))

    op.drop_table("selection_items")
    with op.batch_alter_table("selection_children", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selection_children_child_id"))

    op.drop_table("selection_children")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_status"))
        batch_op.drop_index(batch_op.f("ix_results_preset_id"))
        batch_op.drop_index(batch_op.f("ix_results_cache_key"))

    op.drop_table("results")
    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_tags_tag_id"))

    op.drop_table("item_tags")
    with op.batch_alter_table("experience_presets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experience_presets_preset_id"))

    op.drop_table("experience_presets")
    with op.batch_alter_table("annotation_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_tracks_item_id"))
        batch_op.drop_index(batch_op.f("ix_annotation_tracks_is_public"))
        batch_op.drop_index(batch_op.f("ix_annotation_tracks_author_id"))

    op.drop_table("annotation_tracks")
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selections_is_public"))
        batch_op.drop_index(batch_op.f("ix_selections_author_id"))

    op.drop_table("selections")
    with op.batch_alter_table("presets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presets_author_id"))

    op.drop_table("presets")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_sha1"))
        batch_op.drop_index(batch_op.f("ix_items_provider_id"))
        batch_op.drop_index(batch_op.f("ix_items_is_public"))
        batch_op.drop_index(batch_op.f("ix_items_external_id"))
        batch_op.drop_index(batch_op.f("ix_items_author_id"))

    op.drop_table("items")
    with op.batch_alter_table("experiences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiences_is_public"))
        batch_op.drop_index(batch_op.f("ix_experiences_author_id"))

    op.drop_table("experiences")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("tags")
    op.drop_table("providers")
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processors_kind"))

    op.drop_table("processors")
