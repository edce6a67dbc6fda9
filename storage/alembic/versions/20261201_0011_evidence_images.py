"""Evidence images, sealed, per case (issue 12).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

One row per image: its ciphertext, sealed under the content key of the case message that describes
it (casework.evidence.sealing). Deleted with its message and with its case.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_evidence_images_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["case_messages.id"],
            name="fk_evidence_images_message_id_case_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_images"),
        sa.UniqueConstraint("message_id", name="uq_evidence_images_message_id"),
    )
    op.create_index("ix_evidence_images_case_id", "evidence_images", ["case_id"])


def downgrade() -> None:
    # The images go: they cannot be kept anywhere the older schema would still delete with their case.
    op.drop_index("ix_evidence_images_case_id", table_name="evidence_images")
    op.drop_table("evidence_images")
