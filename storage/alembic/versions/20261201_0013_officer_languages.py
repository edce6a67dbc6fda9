"""Which languages an officer reads (issue 14).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

One row per officer and language they read besides English ("fr"): French tips prefer those officers
among the ones their routing link can reach (casework.delivery.routing). Staff data only; deleted with
the officer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officer_languages",
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name="fk_officer_languages_officer_id_officers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("officer_id", "language", name="pk_officer_languages"),
    )


def downgrade() -> None:
    # Only a routing preference is lost: every officer goes back to receiving every tip of their link.
    op.drop_table("officer_languages")
