"""Officers' reply modes get their own table, out of the students' drafts (issue 10, item 3).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

A mode is sealed with the server 'state' key, which a migration does not
hold: the modes officers had in `drafts` are not moved. They expire there
within 30 minutes and the drafts purge deletes them; an officer in the middle
of a reply at the upgrade taps Reply again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "officer_reply_modes",
        sa.Column("officer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name="fk_officer_reply_modes_officer_id_officers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("officer_id", name="pk_officer_reply_modes"),
    )
    op.create_index("ix_officer_reply_modes_expires_at", "officer_reply_modes", ["expires_at"])


def downgrade() -> None:
    # The modes are short-lived (30 minutes); an officer mid-reply taps Reply again.
    op.drop_index("ix_officer_reply_modes_expires_at", table_name="officer_reply_modes")
    op.drop_table("officer_reply_modes")
