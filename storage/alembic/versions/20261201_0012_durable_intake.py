"""Durable, idempotent intake and work shared across bot instances (issue 11).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

`intake_updates`: each Telegram update, sealed, written before Telegram is
told it arrived (the next getUpdates offset, or the webhook's 200), handled
from there, and kept as a bare update id once handled so that a redelivery
is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.String(64), nullable=True),
        sa.Column("nonce", sa.LargeBinary(12), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_intake_updates"),
    )
    op.create_index("ix_intake_updates_chat_key", "intake_updates", ["chat_key"])
    op.create_index("ix_intake_updates_done", "intake_updates", ["done"])
    op.create_index("ix_intake_updates_received_at", "intake_updates", ["received_at"])


def downgrade() -> None:
    # Updates not handled yet are lost with the table: stop the bot (it finishes what it holds) first.
    op.drop_index("ix_intake_updates_received_at", table_name="intake_updates")
    op.drop_index("ix_intake_updates_done", table_name="intake_updates")
    op.drop_index("ix_intake_updates_chat_key", table_name="intake_updates")
    op.drop_table("intake_updates")
