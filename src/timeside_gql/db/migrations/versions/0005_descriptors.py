"""similarity: one descriptor vector per item (item_descriptors), for Item.similar

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 12:51:36.963406
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_descriptors",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("result_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "vector",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("tempo", sa.Float(), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_descriptors_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["results.id"],
            name=op.f("fk_item_descriptors_result_id_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_descriptors")),
    )
    with op.batch_alter_table("item_descriptors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_descriptors_result_id"), ["result_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("item_descriptors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_descriptors_result_id"))

    op.drop_table("item_descriptors")
