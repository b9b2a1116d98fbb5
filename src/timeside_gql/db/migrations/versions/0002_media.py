"""media: ingest state of items

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INGEST_STATES = ("none", "pending", "running", "done", "failed")


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "ingest_status",
                sa.Enum(
                    *INGEST_STATES,
                    name="ingest_status",
                    native_enum=False,
                    create_constraint=True,
                ),
                server_default="none",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("ingest_error", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_items_ingest_status"), ["ingest_status"], unique=False)
    # Items hashed before this revision were ingested by whoever filled their sha1.
    op.execute("UPDATE items SET ingest_status = 'done' WHERE sha1 IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_ingest_status"))
        batch_op.drop_constraint(batch_op.f("ck_items_ingest_status"), type_="check")
        batch_op.drop_column("ingest_error")
        batch_op.drop_column("ingest_status")
