"""Telegram's pacing shared across bot instances through the database (issue 11).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

`pacing_buckets`: one leaky bucket per key (the bot overall, a pause after a
RetryAfter, each chat under a keyed hash), used by the bot on PostgreSQL only;
its rows live for seconds. No index on `free_at`, so that the row every send
updates ("overall") is updated in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pacing_buckets",
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("free_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_pacing_buckets"),
    )


def downgrade() -> None:
    op.drop_table("pacing_buckets")
