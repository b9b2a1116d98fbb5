"""corpora: annotation ↔ result links, the analysis catalogue (analyses, analysis_tracks)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:02:15.843213
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("preset_id", sa.Uuid(), nullable=False),
        sa.Column("output_id", sa.String(length=128), nullable=True),
        sa.Column(
            "render_type",
            sa.Enum(
                "vector", "image", name="render_type", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_analyses_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["preset_id"],
            ["presets.id"],
            name=op.f("fk_analyses_preset_id_presets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analyses_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_analyses_is_public"), ["is_public"], unique=False)
        batch_op.create_index(batch_op.f("ix_analyses_preset_id"), ["preset_id"], unique=False)

    op.create_table(
        "analysis_tracks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("analysis_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_analysis_tracks_analysis_id_analyses"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_analysis_tracks_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_analysis_tracks_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_tracks")),
    )
    with op.batch_alter_table("analysis_tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analysis_tracks_analysis_id"), ["analysis_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analysis_tracks_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_analysis_tracks_is_public"), ["is_public"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_analysis_tracks_item_id"), ["item_id"], unique=False)

    op.create_table(
        "annotation_results",
        sa.Column("annotation_id", sa.Uuid(), nullable=False),
        sa.Column("result_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_annotation_results_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["results.id"],
            name=op.f("fk_annotation_results_result_id_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("annotation_id", "result_id", name=op.f("pk_annotation_results")),
    )
    with op.batch_alter_table("annotation_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotation_results_result_id"), ["result_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("annotation_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_results_result_id"))

    op.drop_table("annotation_results")
    with op.batch_alter_table("analysis_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_tracks_item_id"))
        batch_op.drop_index(batch_op.f("ix_analysis_tracks_is_public"))
        batch_op.drop_index(batch_op.f("ix_analysis_tracks_author_id"))
        batch_op.drop_index(batch_op.f("ix_analysis_tracks_analysis_id"))

    op.drop_table("analysis_tracks")
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyses_preset_id"))
        batch_op.drop_index(batch_op.f("ix_analyses_is_public"))
        batch_op.drop_index(batch_op.f("ix_analyses_author_id"))

    op.drop_table("analyses")
