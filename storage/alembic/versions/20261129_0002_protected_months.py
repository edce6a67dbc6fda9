"""Protected months: the cache of `sro stats`'s disclosure control.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

One row per school and settled month: the month's statistics as published
(exact counts, and only the markers of hidden ones), with a fingerprint of
the `intent_stats` rows it was computed from. A cache: downgrading drops it
and loses nothing that cannot be recomputed. Written against plain
SQLAlchemy types, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "protected_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
        sa.Column("cells", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("month", "school_id", name="pk_protected_months"),
    )


def downgrade() -> None:
    op.drop_table("protected_months")
